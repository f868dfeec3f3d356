"""Code tables and field limits of TT 05/2025 (Phụ lục III), see DOMAIN §2."""

from __future__ import annotations

import types

MAINTENANCE = types.MappingProxyType({
    "01": "Vĩnh viễn", "02": "70 năm", "03": "50 năm", "04": "30 năm",
    "05": "20 năm", "06": "10 năm", "07": "Khác",
})
MODE = types.MappingProxyType({"01": "Công khai", "02": "Sử dụng có điều kiện", "03": "Mật"})
CONFIDENCE_LEVEL = types.MappingProxyType({"01": "Gốc điện tử", "02": "Số hóa", "03": "Hỗn hợp"})
LANGUAGE = types.MappingProxyType({f"{i:02d}": str(i) for i in range(1, 12)})
FORMAT = types.MappingProxyType({"01": "Tốt", "02": "Bình thường", "03": "Hư hỏng"})
TYPE_NAME = types.MappingProxyType({
    "01": "Nghị quyết", "02": "Quyết định", "03": "Chỉ thị", "04": "Quy chế", "05": "Quy định",
    "06": "Thông cáo", "07": "Thông báo", "08": "Hướng dẫn", "09": "Chương trình",
    "10": "Kế hoạch", "11": "Phương án", "12": "Đề án", "13": "Dự án", "14": "Báo cáo",
    "15": "Tờ trình", "16": "Giấy ủy quyền", "17": "Phiếu gửi", "18": "Phiếu chuyển",
    "19": "Phiếu báo", "20": "Biên bản", "21": "Hợp đồng", "22": "Công văn", "23": "Công điện",
    "24": "Bản ghi nhớ", "25": "Bản thỏa thuận", "26": "Giấy mời", "27": "Giấy giới thiệu",
    "28": "Giấy nghỉ phép", "29": "Thư công", "30": "Bản đồ", "31": "Bản vẽ kỹ thuật",
    "32": "Khác",
})
GROUPS = ("civil_status", "land", "housing", "justice", "health", "admin_procedure", "other")
RISK = types.MappingProxyType({"0": "Không", "1": "Có"})

# Record file (EAD.xml): element order and maximum length (None = code or free short text).
FILE_FIELDS = (
    ("fileCode", 100), ("title", 1000), ("maintenance", 2), ("mode", 2), ("language", 2),
    ("startDate", 10), ("endDate", 10), ("keyword", 500), ("totalDoc", 6),
    ("numberOfPaper", 6), ("numberOfPage", 6), ("format", 2), ("inforSign", 30),
    ("confidenceLevel", 2), ("paperFileCode", 100), ("riskRecovery", 1),
    ("riskRecoveryStatus", 200), ("description", 2000),
)
# Document (EAD_DOC_*.xml).
DOC_FIELDS = (
    ("docId", 25), ("docCode", 108), ("maintenance", 2), ("typeName", 2),
    ("codeNumber", 11), ("codeNotation", 30), ("issuedDate", 10), ("organName", 200),
    ("subject", 500), ("language", 2), ("numberOfPage", 6), ("inforSign", 30),
    ("keyword", 500), ("mode", 2), ("confidenceLevel", 2), ("autograph", 200),
    ("format", 2), ("riskRecovery", 1), ("riskRecoveryStatus", 200), ("process", 200),
    ("description", 500),
)
# Which fields must hold a value from a code table.
FIELD_CODES = types.MappingProxyType({
    "maintenance": MAINTENANCE, "mode": MODE, "language": LANGUAGE, "format": FORMAT,
    "confidenceLevel": CONFIDENCE_LEVEL, "typeName": TYPE_NAME, "riskRecovery": RISK,
})
FILE_REQUIRED = ("fileCode", "title", "maintenance", "mode", "language", "totalDoc",
                 "numberOfPage", "format", "confidenceLevel", "paperFileCode", "riskRecovery")
DOC_REQUIRED = ("docId", "docCode", "maintenance", "typeName", "language", "numberOfPage",
                "mode", "confidenceLevel", "format", "riskRecovery")
