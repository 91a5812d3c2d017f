#!/usr/bin/python3
"""Writes the golden inputs: the answers of the model card (tests/emulators/
sscard_vicc.py, which follows docs/reference/sscard.md) to the APDUs the
session sends, found by running the golden driver on the answers so far.
    make_vectors.py BUILD/sscard_golden    (then golden.sh ... --regenerate; review)"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "emulators"))
import sscard_vicc  # noqa: E402


def record(driver, card, name, comment, tamper=None):
    answers = []
    path = os.path.join(HERE, "golden", name + ".hex")
    while True:
        with open(path, "w") as f:
            f.write("".join(f"# {line}\n" for line in comment.splitlines()))
            f.write("".join((a.hex(" ").upper() or "-- no answer") + "\n" for a in answers))
        out = subprocess.run([driver, "0", path], capture_output=True, text=True,
                             check=True).stdout.splitlines()
        if "answers ended" not in out[-1]:
            return write_seed(name, answers)
        apdu = bytes.fromhex(out[-2].split('"')[3])
        answer = card.answer(apdu)
        if tamper:
            answer = tamper(len(answers), apdu, answer)
        answers.append(answer)


def write_seed(name, answers):
    """The same answers as a fuzzing seed: a length byte before each."""
    corpus = os.path.join(HERE, "..", "..", "corpus", "sscard")
    os.makedirs(corpus, exist_ok=True)
    with open(os.path.join(corpus, name), "wb") as f:
        f.write(b"".join(bytes([len(a)]) + a for a in answers))


def main():
    driver = sys.argv[1]
    C = sscard_vicc.Card
    record(driver, C("sscard"), "card20",
           "A 2.0 card, T=0: the FCI through GET RESPONSE, every record with its exact Le.")
    record(driver, C("sscard3"), "card30_protected",
           "A 3.0 card without a PSAM: EF06 answers 6982; the card's own fields only.")
    record(driver, C("other"), "not_sscard", "A card without the SSSE application (6A82).")
    record(driver, C("sscard", holder="long_name"), "long_name",
           "A name longer than 30 bytes: 姓名 + 姓名扩展 (4E).")
    record(driver, C("sscard", valid_until=None), "no_expiry",
           "A card whose 卡有效期 holds only F: valid_until absent.")

    asked = set()

    def six_c_once(i, apdu, answer):  # a COS that asks for Le again once per record
        if apdu[1] == 0xB2 and apdu[2] not in asked:
            asked.add(apdu[2])
            return bytes([0x6C, apdu[4]])
        return answer
    record(driver, C("sscard"), "le_rounds",
           "Le rounds: 6Cxx to every first READ RECORD; the session asks again with Le xx.",
           tamper=six_c_once)

    def pulled(i, apdu, answer):
        return b"" if i == 6 else answer
    record(driver, C("sscard"), "pulled", "The card leaves mid-read: an answer without a "
           "status word.", tamper=pulled)

    def bad_date(i, apdu, answer):
        if apdu[1] == 0xB2 and apdu[2] == 0x05:
            return bytes([0x05, 0x04, 0x20, 0x25, 0x13, 0x01, 0x90, 0x00])
        return answer
    record(driver, C("sscard"), "bad_date", "A 发卡日期 with month 13: read_failed, nothing "
           "published.", tamper=bad_date)

    def other_fci(i, apdu, answer):
        if apdu[1] == 0xC0:
            return bytes.fromhex("6F07840541424344459000")
        return answer
    record(driver, C("sscard"), "fci_other_name", "An FCI naming another application: "
           "unknown_card.", tamper=other_fci)

    def wrong_tag(i, apdu, answer):
        if apdu[1] == 0xB2 and apdu[2] == 0x07:
            return bytes([0x08]) + answer[1:]
        return answer
    record(driver, C("sscard"), "wrong_tag", "A record answered under another tag: "
           "read_failed.", tamper=wrong_tag)


if __name__ == "__main__":
    main()
