// The peer in bench/sync_central.py: @tus/server with @tus/s3-store on the same S3 server as ours.
// usage: node server-s3.mjs ENDPOINT BUCKET ACCESS_KEY SECRET_KEY PART_SIZE_BYTES -> prints "listening <port>"
// Stock settings except what the S3 server needs (endpoint, path-style addressing, credentials)
// and the part size, set to ours so both send the same parts.
import { Server } from '@tus/server'
import { S3Store } from '@tus/s3-store'

const [endpoint, bucket, accessKeyId, secretAccessKey, partSize] = process.argv.slice(2)
const datastore = new S3Store({
  partSize: Number(partSize),
  s3ClientConfig: {
    bucket,
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  },
})
const server = new Server({ path: '/files', datastore })
const http = server.listen({ host: '127.0.0.1', port: 0 }, () => {
  console.log(`listening ${http.address().port}`)
})
