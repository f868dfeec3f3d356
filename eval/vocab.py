"""Word lists the corpus generator draws from: people, places, bodies, subjects, legal bases.

Plain data. Names and places are common Vietnamese ones; no list here names a
real person. Placeholders in braces are filled by ``documents.py``.
"""

from __future__ import annotations

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
          "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Lương", "Mai", "Tạ", "Cao", "Châu", "Quách")
MIDDLE_M = ("Văn", "Hữu", "Đức", "Minh", "Quang", "Thành", "Công", "Xuân", "Đình", "Ngọc", "Bá", "Trọng")
MIDDLE_F = ("Thị", "Thị", "Ngọc", "Thu", "Kim", "Thanh", "Mỹ", "Bích", "Hồng", "Diệu")
GIVEN_M = ("An", "Bình", "Cường", "Dũng", "Giang", "Hải", "Hùng", "Khánh", "Long", "Minh", "Nam", "Phong",
           "Phúc", "Quân", "Sơn", "Tâm", "Trung", "Tuấn", "Tùng", "Việt", "Lộc", "Thắng", "Hiếu", "Đạt", "Khoa")
GIVEN_F = ("Anh", "Hà", "Hạnh", "Hương", "Lan", "Linh", "Mai", "Ngân", "Nga", "Oanh", "Thảo", "Thủy", "Trang",
           "Uyên", "Xuân", "Yến", "Hằng", "Phượng", "Nhung", "Loan", "Duyên", "Quỳnh", "Vân")

COMMUNES = ("Tân Phú", "Hòa Bình", "Ea Tiêu", "Phước Lộc", "Mỹ Hạnh Nam", "Đông Thạnh", "Bình Mỹ", "Long Hậu",
            "Thạnh Lợi", "Cẩm Thành", "Yên Lạc", "Đức Lập", "Hưng Đạo", "Kim Sơn", "Nghĩa Trung", "Tam Hiệp",
            "Quảng Điền", "Vĩnh Lộc", "Xuân Thới Sơn", "Hòa Khánh", "Ea Ktur", "Dray Bhăng", "Tân Mỹ", "An Nhơn Tây",
            "Phú Hòa Đông", "Trung Lập Hạ", "Lộc Giang", "Hựu Thạnh", "Sơn Đông", "Thụy Hương", "Cổ Đông",
            "Đường Lâm", "Liên Hiệp", "Phù Lưu Tế", "Quỳnh Lưu", "Diễn Châu", "Nghi Phong", "Thọ Lập")
DISTRICTS = ("Đức Hòa", "Cư Kuin", "Củ Chi", "Cần Giuộc", "Krông Ana", "Ba Vì", "Hoài Đức", "Tiên Du",
             "Nghi Lộc", "Thọ Xuân", "Bến Lức", "Hóc Môn", "Phúc Thọ", "Mỹ Đức", "Diễn Châu", "Yên Thành")
PROVINCES = ("Long An", "Đắk Lắk", "Hà Nội", "Bắc Ninh", "Nghệ An", "Thanh Hóa", "Tây Ninh", "Đồng Nai",
             "Quảng Nam", "Bình Định", "An Giang", "Thái Bình")
HAMLETS = ("ấp Bình Tả", "ấp Hòa Bình", "thôn Đông", "thôn 3", "buôn Kmrơng Prông", "ấp Chánh", "thôn Yên Nội",
           "xóm Trại", "ấp Tân Hòa", "thôn Phú Mỹ", "tổ dân phố 5", "ấp Lộc Hòa")
ETHNIC = ("Kinh", "Kinh", "Kinh", "Ê Đê", "Tày", "Khmer", "Hoa", "Mường")
JOBS = ("làm ruộng", "công nhân", "giáo viên", "buôn bán", "lao động tự do", "cán bộ hưu trí", "nội trợ",
        "kỹ sư xây dựng", "y sĩ", "thợ may")

# (parent line or "", body line(s)) templates for the issuing body, by who issues.
ORGAN_UBND = (
    ("UBND HUYỆN {D}", ("ỦY BAN NHÂN DÂN XÃ {X}",)),
    ("UBND TỈNH {P}", ("ỦY BAN NHÂN DÂN XÃ {X}",)),
    ("", ("ỦY BAN NHÂN DÂN", "XÃ {X}")),
    ("", ("ỦY BAN NHÂN DÂN XÃ {X}",)),
    ("HUYỆN {D}", ("ỦY BAN NHÂN DÂN XÃ {X}",)),
)
ORGAN_HDND = (
    ("HĐND HUYỆN {D}", ("HỘI ĐỒNG NHÂN DÂN XÃ {X}",)),
    ("", ("HỘI ĐỒNG NHÂN DÂN", "XÃ {X}")),
    ("TỈNH {P}", ("HỘI ĐỒNG NHÂN DÂN XÃ {X}",)),
)
ORGAN_OTHER = (
    ("CÔNG AN HUYỆN {D}", ("CÔNG AN XÃ {X}",)),
    ("UBND HUYỆN {D}", ("PHÒNG TÀI NGUYÊN VÀ MÔI TRƯỜNG",)),
    ("UBND XÃ {X}", ("BAN CHỈ HUY QUÂN SỰ",)),
    ("UBND HUYỆN {D}", ("VĂN PHÒNG HĐND VÀ UBND",)),
    ("UBND XÃ {X}", ("TRẠM Y TẾ",)),
)
# Notation suffix of the body in "Số: 12/QĐ-{suffix}".
ORGAN_SUFFIX = {"ỦY BAN NHÂN DÂN": "UBND", "HỘI ĐỒNG NHÂN DÂN": "HĐND", "CÔNG AN": "CAX",
                "PHÒNG TÀI NGUYÊN": "TNMT", "BAN CHỈ HUY": "BCHQS", "VĂN PHÒNG": "VP", "TRẠM Y TẾ": "TYT"}

SIGNERS_UBND = (("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"), ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"),
                ("CHỦ TỊCH",), ("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"))
SIGNERS_HDND = (("TM. HỘI ĐỒNG NHÂN DÂN", "CHỦ TỊCH"), ("CHỦ TỊCH",))
SIGNERS_OTHER = (("TRƯỞNG CÔNG AN XÃ",), ("TRƯỞNG PHÒNG",), ("CHỈ HUY TRƯỞNG",), ("CHÁNH VĂN PHÒNG",),
                 ("TRẠM TRƯỞNG",))

# Legal bases: dates and numbers in them are traps for a naive extractor.
LEGAL_BASES = (
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
    "Căn cứ Luật sửa đổi, bổ sung một số điều của Luật Tổ chức Chính phủ và Luật Tổ chức chính quyền địa "
    "phương ngày 22 tháng 11 năm 2019;",
    "Căn cứ Luật Đất đai ngày 18 tháng 01 năm 2024;",
    "Căn cứ Luật Hộ tịch ngày 20 tháng 11 năm 2014;",
    "Căn cứ Luật Lưu trữ ngày 21 tháng 6 năm 2024;",
    "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;",
    "Căn cứ Nghị định số 123/2015/NĐ-CP ngày 15 tháng 11 năm 2015 của Chính phủ quy định chi tiết một số "
    "điều và biện pháp thi hành Luật Hộ tịch;",
    "Căn cứ Nghị định số 102/2024/NĐ-CP ngày 30 tháng 7 năm 2024 của Chính phủ quy định chi tiết thi hành "
    "một số điều của Luật Đất đai;",
    "Căn cứ Thông tư số 05/2025/TT-BNV ngày 14 tháng 5 năm 2025 của Bộ Nội vụ;",
    "Căn cứ Quyết định số {n1}/QĐ-UBND ngày {d1} tháng {m1} năm {y1} của Ủy ban nhân dân huyện {D};",
    "Căn cứ Kế hoạch số {n2}/KH-UBND ngày {d2} tháng {m2} năm {y2} của Ủy ban nhân dân xã {X};",
    "Căn cứ Nghị quyết số {n1}/NQ-HĐND ngày {d1} tháng {m1} năm {y1} của Hội đồng nhân dân xã {X};",
    "Căn cứ Công văn số {n2}/UBND-VP ngày {d2}/{m2}/{y2} của Ủy ban nhân dân tỉnh {P};",
)

SUBJECTS = {
    "quyet_dinh": (
        "Về việc thành lập Tổ công tác số hóa hồ sơ, tài liệu lưu trữ của Ủy ban nhân dân xã {X}",
        "Về việc phê duyệt danh sách hộ nghèo, hộ cận nghèo trên địa bàn xã năm {y}",
        "Về việc giao đất ở cho hộ gia đình ông {NAME_M} tại thửa đất số {n1}, tờ bản đồ số {n3}",
        "Về việc khen thưởng các tập thể, cá nhân có thành tích xuất sắc trong phong trào thi đua năm {y}",
        "Về việc cấp giấy chứng nhận quyền sử dụng đất cho hộ bà {NAME_F}",
        "Về việc kiện toàn Hội đồng hòa giải ở cơ sở {H}",
        "Về việc xử phạt vi phạm hành chính trong lĩnh vực xây dựng",
        "Về việc ban hành Quy chế làm việc của Ủy ban nhân dân xã {X} nhiệm kỳ 2021 - 2026",
        "Về việc hỗ trợ kinh phí sửa chữa nhà ở cho hộ gia đình có hoàn cảnh khó khăn",
    ),
    "cong_van": (
        "V/v báo cáo tiến độ số hóa hồ sơ hộ tịch",
        "V/v đề nghị cung cấp thông tin thửa đất số {n1}, tờ bản đồ số {n3}",
        "V/v triển khai công tác phòng, chống thiên tai năm {y}",
        "V/v rà soát, cập nhật dữ liệu dân cư trên địa bàn xã",
        "V/v chuẩn bị hồ sơ bàn giao tài liệu lưu trữ sau sắp xếp đơn vị hành chính",
        "V/v tăng cường công tác quản lý trật tự xây dựng",
        "V/v góp ý dự thảo Kế hoạch phát triển kinh tế - xã hội năm {y}",
    ),
    "to_trinh": (
        "Về việc đề nghị phê duyệt kế hoạch số hóa hồ sơ thủ tục hành chính năm {y}",
        "Về việc đề nghị công nhận {H} đạt chuẩn nông thôn mới",
        "Về việc xin chủ trương đầu tư xây dựng nhà văn hóa {H}",
        "Về việc đề nghị cấp kinh phí tu bổ kho lưu trữ của xã",
        "Về việc đề nghị thu hồi đất để xây dựng đường giao thông nông thôn",
    ),
    "bien_ban": (
        "Về việc hòa giải tranh chấp ranh giới đất giữa hộ ông {NAME_M} và hộ bà {NAME_F}",
        "Họp xét duyệt hồ sơ đề nghị hỗ trợ nhà ở",
        "Về việc bàn giao hồ sơ, tài liệu lưu trữ",
        "Kiểm tra hiện trạng sử dụng đất tại thửa đất số {n1}",
        "Về việc xác minh tình trạng hôn nhân của công dân",
    ),
    "thong_bao": (
        "Về việc tổ chức tiếp công dân định kỳ tháng {m}",
        "Về việc lịch cắt điện trên địa bàn xã",
        "Kết luận của Chủ tịch Ủy ban nhân dân xã tại cuộc họp giao ban tháng {m}",
        "Về việc niêm yết công khai danh sách hộ gia đình được hỗ trợ",
        "Về việc thu hồi đất để thực hiện dự án mở rộng đường huyện {D}",
    ),
    "ke_hoach": (
        "Triển khai số hóa hồ sơ, tài liệu lưu trữ năm {y}",
        "Tổ chức các hoạt động kỷ niệm ngày Quốc khánh 2/9",
        "Phòng, chống dịch bệnh trên gia súc, gia cầm năm {y}",
        "Thực hiện cải cách hành chính năm {y}",
        "Tuyên truyền, phổ biến, giáo dục pháp luật năm {y}",
    ),
    "bao_cao": (
        "Kết quả thực hiện nhiệm vụ phát triển kinh tế - xã hội 6 tháng đầu năm {y}",
        "Tình hình đăng ký hộ tịch quý {q} năm {y}",
        "Kết quả công tác lưu trữ và số hóa tài liệu năm {y}",
        "Tình hình quản lý, sử dụng đất đai trên địa bàn xã",
        "Kết quả giải quyết thủ tục hành chính tháng {m} năm {y}",
    ),
    "nghi_quyet": (
        "Về việc phê chuẩn dự toán ngân sách xã năm {y}",
        "Về nhiệm vụ phát triển kinh tế - xã hội, quốc phòng, an ninh năm {y}",
        "Về việc thông qua Đề án xây dựng nông thôn mới nâng cao",
        "Về việc miễn nhiệm chức danh Phó Chủ tịch Ủy ban nhân dân xã",
    ),
    "giay_moi": (
        "Dự hội nghị sơ kết công tác số hóa hồ sơ 6 tháng đầu năm {y}",
        "Về việc dự họp bàn giải quyết đơn kiến nghị của công dân",
        "Dự lễ công bố xã đạt chuẩn nông thôn mới",
        "Về việc tham dự tập huấn nghiệp vụ hộ tịch",
    ),
    "cong_dien": (
        "Về việc tập trung ứng phó với cơn bão số {n3}",
        "Về việc chủ động phòng, chống mưa lũ, sạt lở đất",
        "Về việc tăng cường phòng, chống dịch tả lợn châu Phi",
    ),
    "chi_thi": (
        "Về việc tăng cường công tác văn thư, lưu trữ trên địa bàn xã",
        "Về việc đẩy mạnh chuyển đổi số trong giải quyết thủ tục hành chính",
        "Về việc tăng cường quản lý đất đai và trật tự xây dựng",
    ),
    "don_de_nghi": (
        "V/v cấp lại bản sao Giấy khai sinh",
        "V/v xác nhận nơi cư trú",
        "V/v đề nghị hỗ trợ sửa chữa nhà ở",
        "V/v cấp đổi Giấy chứng nhận quyền sử dụng đất",
        "V/v xác nhận tình trạng hôn nhân",
    ),
}

# Generic administrative sentences for bodies; placeholders as above.
SENTENCES = (
    "Ủy ban nhân dân xã {X} đã chỉ đạo các bộ phận chuyên môn rà soát toàn bộ hồ sơ tồn đọng.",
    "Công chức Tư pháp - Hộ tịch chịu trách nhiệm kiểm tra, đối chiếu số liệu trước ngày {d2}/{m2}/{y}.",
    "Đến nay đã tiếp nhận {n4} hồ sơ, trong đó giải quyết đúng hạn {n5} hồ sơ, đạt tỷ lệ {pct}%.",
    "Kinh phí thực hiện được bố trí từ nguồn ngân sách xã năm {y} với tổng số tiền {money} đồng.",
    "Các thôn, ấp phối hợp với Mặt trận Tổ quốc xã tuyên truyền đến từng hộ gia đình.",
    "Trong quá trình thực hiện, nếu có khó khăn, vướng mắc đề nghị báo cáo về Văn phòng HĐND và UBND xã.",
    "Diện tích thửa đất là {area} m2, mục đích sử dụng: đất ở tại nông thôn, thời hạn sử dụng lâu dài.",
    "Hộ ông {NAME_M}, thường trú tại {H}, xã {X}, đã nộp đầy đủ hồ sơ theo quy định.",
    "Hồ sơ, tài liệu sau khi số hóa được lưu trữ tại kho lưu trữ của Ủy ban nhân dân xã.",
    "Giao Văn phòng HĐND và UBND xã theo dõi, đôn đốc và tổng hợp kết quả thực hiện.",
    "Thời gian thực hiện từ ngày {d1}/{m1}/{y} đến hết ngày {d2}/{m2}/{y}.",
    "Tổng số có {n4} hộ gia đình với {n5} nhân khẩu được rà soát trên địa bàn {H}.",
    "Đề nghị các đồng chí được mời tham dự đúng thành phần, đúng thời gian.",
    "Các bên thống nhất giữ nguyên hiện trạng ranh giới cho đến khi có kết quả đo đạc lại.",
    "Bà {NAME_F}, sinh năm {by}, nghề nghiệp: {job}, cư trú tại {H}, xã {X}.",
    "Tiếp tục thực hiện nghiêm các quy định về phòng cháy, chữa cháy tại kho lưu trữ.",
    "Nhiệt độ và độ ẩm kho lưu trữ được theo dõi hằng ngày và ghi vào sổ theo dõi.",
    "Kết quả kiểm tra cho thấy {n4} hồ sơ còn thiếu thành phần, cần bổ sung trước ngày {d2} tháng {m2}.",
    "Việc bàn giao được lập thành biên bản, có chữ ký của đại diện các bên liên quan.",
    "Người đứng đầu các đơn vị chịu trách nhiệm trước Chủ tịch Ủy ban nhân dân xã về kết quả thực hiện.",
    "Số liệu được tổng hợp từ sổ đăng ký khai sinh, khai tử, kết hôn của xã từ năm {y1} đến nay.",
    "Ủy ban nhân dân xã đề nghị Ủy ban nhân dân huyện {D} xem xét, quyết định.",
    "Ông {NAME_M} có trách nhiệm nộp tiền sử dụng đất theo thông báo của cơ quan thuế.",
    "Trường hợp quá thời hạn nêu trên mà không thực hiện thì bị xử lý theo quy định của pháp luật.",
)
