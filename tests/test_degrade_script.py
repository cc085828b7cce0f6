"""scripts/degrade.py: degraded copies of a dataset's scans keep their ground truth."""

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]


def test_degraded_copies_of_scans_keep_their_ground_truth(tmp_path):
    data = tmp_path / "ds"
    (data / "docs").mkdir(parents=True)
    img = Image.new("L", (400, 300), 255)
    ImageDraw.Draw(img).text((20, 20), "TOTAL 12.00", fill=0)
    img.save(data / "docs" / "a.png")
    (data / "docs" / "b.pdf").write_bytes(b"%PDF-1.4\n")  # a text layer does not degrade: skipped
    lines = [{"id": "a", "file": "docs/a.png", "expected": {"total": "12.00"}},
             {"id": "b", "file": "docs/b.pdf", "expected": {"total": "1.00"}}]
    (data / "manifest.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "out"
    subprocess.run([sys.executable, str(REPO / "scripts" / "degrade.py"), str(data), str(out),
                    "--variants", "rot-2.5,blur,lowres"], check=True, capture_output=True)
    made = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert [m["id"] for m in made] == ["a_rot-2.5", "a_blur", "a_lowres"]
    assert all(m["expected"] == {"total": "12.00"} for m in made)
    for m in made:
        with Image.open(out / m["file"]) as copy:
            assert copy.size == ((267, 200) if m["id"].endswith("lowres") else (400, 300))
            assert copy.tobytes() != img.tobytes()  # degraded, not copied
    bad = subprocess.run([sys.executable, str(REPO / "scripts" / "degrade.py"), str(data), str(out),
                          "--variants", "sepia"], capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown variants: sepia" in bad.stderr
