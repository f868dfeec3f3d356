// The peer in bench/bench_sync.py: @tus/server with @tus/file-store, stock settings.
// usage: node server.mjs DIRECTORY  -> prints "listening <port>" once ready
import { Server } from '@tus/server'
import { FileStore } from '@tus/file-store'

const directory = process.argv[2]
const server = new Server({ path: '/files', datastore: new FileStore({ directory }) })
const http = server.listen({ host: '127.0.0.1', port: 0 }, () => {
  console.log(`listening ${http.address().port}`)
})
