"""Operator-facing texts of the climate task, Vietnamese first, English beside."""

from __future__ import annotations

ALERT_MESSAGES = {
    "t_high": ("Quá nóng", "Too hot"),
    "t_low": ("Quá lạnh", "Too cold"),
    "rh_high": ("Quá ẩm", "Too damp"),
    "rh_low": ("Quá khô", "Too dry"),
    "mold": ("Nguy cơ nấm mốc", "Mould risk"),
    "sensor": ("Cảm biến lỗi", "Sensor fault"),
}

FAULT_MESSAGES = {
    "unplugged": ("Cảm biến bị rút ra", "Sensor unplugged"),
    "missing": ("Không thấy cảm biến", "Sensor not found"),
    "io": ("Lỗi đọc cảm biến", "Sensor read error"),
    "busy": ("Cảm biến đang bị chương trình khác giữ", "Sensor held by another program"),
    "crc": ("Lỗi CRC, kiểm tra dây 1-wire", "CRC error, check the 1-wire wiring"),
    "no_probe": ("Chưa cắm đầu dò", "No probe connected"),
    "range": ("Giá trị ngoài phạm vi vật lý", "Value outside the physical range"),
    "garbage": ("Dữ liệu hỏng", "Garbled reply"),
    "power_on": ("Cảm biến chưa đo được (nguồn yếu?)", "No conversion (weak power?)"),
    "firmware": ("Firmware cảm biến không biết", "Unknown sensor firmware"),
    "stuck": ("Giá trị không đổi quá lâu (kẹt?)", "Value unchanged too long (stuck?)"),
    "error": ("Lỗi không lường trước", "Unexpected error"),
}

RATING_MESSAGES = {
    "good": ("Tốt", "Good"),
    "ok": ("Chấp nhận được", "OK"),
    "risk": ("Nguy cơ", "Risk"),
}


def both(pair: tuple[str, str]) -> str:
    """``'Vietnamese / English'`` as shown to operators."""
    return f"{pair[0]} / {pair[1]}"


def alert_text(kind: str) -> str:
    return both(ALERT_MESSAGES.get(kind, (kind, kind)))


def fault_text(reason: str) -> tuple[str, str]:
    return FAULT_MESSAGES.get(reason, FAULT_MESSAGES["error"])
