"""Builds SAM reader frames and card text blocks (GA/T 467) for tests and
the demo: fake people only, never real personal data."""

PREAMBLE = bytes([0xAA, 0xAA, 0xAA, 0x96, 0x69])


def frame(payload):
    """A frame around payload (a response's SW1 SW2 SW3 + data, or CMD PARA ...)."""
    n = len(payload) + 1
    body = bytes([n >> 8, n & 0xFF]) + bytes(payload)
    chk = 0
    for b in body:
        chk ^= b
    return PREAMBLE + body + bytes([chk])


def response(sw3, data=b""):
    return frame(bytes([0, 0, sw3]) + bytes(data))


def ucs2(text, size):
    raw = text.encode("utf-16-le")
    assert len(raw) <= size, (text, size)
    return raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)


# Field layouts: (offset, size, key); mirrors protocols.md §1.
LAYOUTS = {
    "resident": [(0, 30, "name"), (30, 2, "gender"), (32, 4, "nation"), (36, 16, "birth"),
                 (52, 70, "address"), (122, 36, "id_number"), (158, 30, "issuer"),
                 (188, 16, "valid_from"), (204, 16, "valid_until")],
    "J": [(0, 30, "name"), (30, 2, "gender"), (36, 16, "birth"), (52, 70, "address"),
          (122, 36, "id_number"), (158, 30, "issuer"), (188, 16, "valid_from"),
          (204, 16, "valid_until"), (220, 18, "pass_number"), (238, 4, "issue_count")],
    "I": [(0, 120, "english_name"), (120, 2, "gender"), (122, 30, "id_number"),
          (152, 6, "nationality"), (158, 30, "name"), (188, 16, "valid_from"),
          (204, 16, "valid_until"), (220, 16, "birth"), (236, 4, "card_version"),
          (240, 8, "issuer_code")],
    "Y": [(0, 30, "name"), (30, 2, "gender"), (32, 4, "renewal_count"), (36, 16, "birth"),
          (52, 70, "english_name"), (122, 36, "id_number"), (188, 16, "valid_from"),
          (204, 16, "valid_until"), (220, 22, "english_name_2"), (242, 6, "nationality"),
          (250, 6, "previous_card_link")],
}

CARDS = {
    "resident": {"type": "resident", "name": "张三", "gender": "1", "nation": "01",
                 "birth": "19491231", "address": "北京市西城区示例路1号",
                 "id_number": "11010519491231002X", "issuer": "北京市公安局西城分局",
                 "valid_from": "20200101", "valid_until": "长期"},
    "resident2": {"type": "resident", "name": "李四娃", "gender": "2", "nation": "08",
                  "birth": "19850704", "address": "广西南宁市示例街道88号",
                  "id_number": "450102198507040021", "issuer": "南宁市公安局",
                  "valid_from": "20150304", "valid_until": "20350304"},
    "hkmotw": {"type": "J", "name": "陈大文", "gender": "1", "birth": "19900215",
               "address": "香港特别行政区示例道2号", "id_number": "810000199002150011",
               "issuer": "深圳市公安局", "valid_from": "20220101", "valid_until": "20270101",
               "pass_number": "H12345678", "issue_count": "01"},
    "foreign": {"type": "I", "english_name": "SMITH, JOHN", "gender": "1",
                "id_number": "USA110080101001", "nationality": "USA", "name": "史密斯",
                "valid_from": "20180101", "valid_until": "20280101", "birth": "19800101",
                "card_version": "01", "issuer_code": "1100"},
    "foreign2023": {"type": "Y", "name": "安娜", "gender": "2", "renewal_count": "00",
                    "birth": "19920303", "english_name": "ANNA MARIA GONZALEZ",
                    "english_name_2": " RODRIGUEZ",
                    "id_number": "934156199203032028", "valid_from": "20240101",
                    "valid_until": "20340101", "nationality": "ESP", "previous_card_link": "000"},
}


def text_block(card):
    block = bytearray(" ".encode("utf-16-le") * 128)
    for off, size, key in LAYOUTS[card["type"]]:
        if key in card:
            block[off:off + size] = ucs2(card[key], size)
    if card["type"] != "resident":
        block[248:250] = card["type"].encode("utf-16-le")
    return bytes(block)


def photo(seed=7, size=1024):
    return bytes((seed * 31 + i * 17) & 0xFF for i in range(size))


def read_response(card, fingerprint=False, photo_size=1024):
    text = text_block(card)
    ph = photo(size=photo_size)
    head = len(text).to_bytes(2, "big") + len(ph).to_bytes(2, "big")
    if fingerprint:
        fp = bytes(range(256)) * 4
        return response(0x90, head + len(fp).to_bytes(2, "big") + text + ph + fp)
    return response(0x90, head + text + ph)


SAM_ID = bytes.fromhex("0501000000000000000000000000000000")  # 17 bytes, illustrative
