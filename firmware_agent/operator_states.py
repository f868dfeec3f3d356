"""What the operator reads: scanner states and faults in Vietnamese first, English beside.

The README's status-message table is generated from ``MESSAGES`` (see
``sohoa messages``), so the page, the log and the manual never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.scanner import ScannerError


@dataclass(frozen=True)
class OperatorMessage:
    code: str
    level: str          # info, warning, error
    vi: str
    en: str
    action_vi: str = ""
    action_en: str = ""

    @property
    def text(self) -> str:
        """One line: 'Vietnamese / English'."""
        return f"{self.vi} / {self.en}"

    def to_dict(self) -> dict:
        return {"code": self.code, "level": self.level, "vi": self.vi, "en": self.en, "text": self.text,
                "action_vi": self.action_vi, "action_en": self.action_en}


_ALL = (
    OperatorMessage("ready", "info", "Sẵn sàng", "Ready",
                    "Đặt giấy vào khay và bấm nút quét.", "Load paper and press the scan button."),
    OperatorMessage("scanning", "info", "Đang quét", "Scanning"),
    OperatorMessage("job_done", "info", "Đã quét xong", "Scan finished"),
    OperatorMessage("paper_jam", "error", "Kẹt giấy", "Paper jam",
                    "Gỡ tờ bị kẹt, đặt lại từ tờ đó và bấm nút quét để quét tiếp.",
                    "Clear the jammed sheet, reload from that sheet and press the scan button to continue."),
    OperatorMessage("cover_open", "error", "Nắp máy quét đang mở", "Scanner cover open",
                    "Đóng nắp và bấm nút quét để quét tiếp.", "Close the cover and press the scan button to continue."),
    OperatorMessage("feeder_empty", "warning", "Khay nạp giấy trống", "Feeder empty",
                    "Đặt giấy vào khay rồi bấm nút quét.", "Load paper and press the scan button."),
    OperatorMessage("device_busy", "warning", "Máy quét đang bận", "Scanner busy",
                    "Chờ một lát; máy sẽ thử lại.", "Wait a moment; the appliance retries by itself."),
    OperatorMessage("io_error", "error", "Lỗi truyền dữ liệu với máy quét", "Scanner I/O error",
                    "Kiểm tra cáp USB và nguồn máy quét; máy sẽ tự kết nối lại.",
                    "Check the USB cable and scanner power; the appliance reconnects by itself."),
    OperatorMessage("access_denied", "error", "Không có quyền dùng máy quét", "Access to scanner denied",
                    "Gọi kỹ thuật viên: kiểm tra nhóm 'scanner' và luật udev.",
                    "Call a technician: check the 'scanner' group and the udev rule."),
    OperatorMessage("no_memory", "error", "Máy quét hết bộ nhớ", "Scanner out of memory",
                    "Giảm độ phân giải hoặc quét ít trang hơn mỗi lần.", "Lower the resolution or scan fewer sheets at once."),
    OperatorMessage("unplugged", "error", "Không thấy máy quét", "Scanner not found (unplugged?)",
                    "Kiểm tra cáp và bật máy quét; máy sẽ tự kết nối lại.",
                    "Check the cable and switch the scanner on; the appliance reconnects by itself."),
    OperatorMessage("hung", "error", "Máy quét không phản hồi", "Scanner stopped answering",
                    "Máy đang khởi động lại cổng USB; nếu không được, tắt và bật lại máy quét.",
                    "The appliance is resetting the USB port; if that fails, power-cycle the scanner."),
    OperatorMessage("cancelled", "warning", "Đã hủy lượt quét", "Scan cancelled"),
    OperatorMessage("invalid_setting", "error", "Máy quét không hỗ trợ thiết lập này", "Scanner refused a setting",
                    "Gọi kỹ thuật viên: kiểm tra cấu hình quét.", "Call a technician: check the scan profile."),
    OperatorMessage("scanner_error", "error", "Lỗi máy quét", "Scanner error",
                    "Thử lại; nếu lặp lại, gọi kỹ thuật viên.", "Try again; if it repeats, call a technician."),
    OperatorMessage("disk_full", "error", "Bộ nhớ của thiết bị gần đầy", "Appliance disk nearly full",
                    "Đã dừng quét, không mất trang nào. Chờ tải lên xong hoặc gọi kỹ thuật viên.",
                    "Scanning stopped, no page lost. Wait for uploads to finish or call a technician."),
    OperatorMessage("interrupted", "warning", "Lượt quét bị gián đoạn", "Scan job interrupted",
                    "Các trang đã quét được giữ lại; quét tiếp từ tờ chưa quét.",
                    "Pages already scanned are kept; continue from the first sheet not scanned."),
    OperatorMessage("page_unreadable", "error", "Không đọc được trang", "Page could not be read"),
)

MESSAGES: dict[str, OperatorMessage] = {m.code: m for m in _ALL}

# States after which the job waits for the operator to fix something and press the button again.
RESUMABLE = frozenset({"paper_jam", "cover_open", "io_error", "unplugged", "hung", "disk_full", "device_busy",
                       "no_memory", "access_denied"})


def message_for(code: str) -> OperatorMessage:
    return MESSAGES.get(code, MESSAGES["scanner_error"])


def message_for_error(err: ScannerError) -> OperatorMessage:
    return message_for(err.code)


def markdown_table() -> str:
    """The README table of every status message."""
    rows = ["| code | Tiếng Việt | English | Việc cần làm | What to do |", "|---|---|---|---|---|"]
    for m in _ALL:
        rows.append(f"| `{m.code}` | {m.vi} | {m.en} | {m.action_vi or '-'} | {m.action_en or '-'} |")
    return "\n".join(rows)
