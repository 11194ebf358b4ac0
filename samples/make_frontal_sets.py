#!/usr/bin/env python3
"""Writes samples/frontal/labels.csv and samples/whitened/labels.csv from the labels that came with
../shared/photos/frontal (labels.csv, landmarks.csv, whitened/labels.csv). Run from anywhere:

    python3 samples/make_frontal_sets.py

The source labels each photo look by look (kept / broken / not labelled); a sample set row names the
broken looks in `breaks` and the unlabelled ones in `unjudged`. The chin row comes from the webmorph
template (landmarks.csv, point 129); the crown is not given there (point 151 is the skull under the
hair), so the rows carry the chin alone.
"""
import csv
import os
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "photos", "frontal"))
LOOKS = ["eyes_open", "gaze", "pose", "mouth_closed", "expression", "eyewear", "headwear",
         "face_covering", "hair_over_face"]
HEADER = ["file", "compliant", "breaks", "crown_y", "chin_y", "centre_x", "unjudged", "source", "note"]


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def main():
    looks = defaultdict(dict)
    for row in read(os.path.join(SRC, "labels.csv")):
        looks[row["file"]][row["look"]] = row["status"]
    chins = {r["file"]: r for r in read(os.path.join(SRC, "landmarks.csv"))}

    rows = []
    for file in sorted(looks):
        status = looks[file]
        breaks = [l for l in LOOKS if status.get(l) == "broken"]
        unjudged = [l for l in LOOKS if l not in status]
        chin = chins.get(file)
        set_name = file.split("/")[1] if file.startswith("london/") else "3dsk"
        rows.append({
            "file": file,
            "compliant": "no",
            "breaks": ";".join(breaks),
            "crown_y": "",
            "chin_y": chin["chin_y"] if chin else "",
            "centre_x": "",
            "unjudged": ";".join(unjudged),
            "source": f"frontal:{set_name}",
            "note": "London set (grey backdrop, white T-shirt)" if file.startswith("london/")
                    else "3DSK render (white, no clothing)",
        })
    write(os.path.join(HERE, "frontal", "labels.csv"), rows, [
        "# Labels for ../shared/photos/frontal (sample set \"frontal\"), written by samples/make_frontal_sets.py",
        "# from that folder's labels.csv (the looks) and landmarks.csv (the chin, London neutral only). No photo is",
        "# compliant as a whole (grey backdrop, white or no clothes): set.toml judges the nine looks only.",
    ])

    whitened = []
    for row in read(os.path.join(SRC, "whitened", "labels.csv")):
        chin = chins.get(row["made_from"])
        whitened.append({
            "file": row["file"].removeprefix("whitened/"),
            "compliant": "yes" if row["compliant"] == "yes" else "no",
            "breaks": row["breaks"],
            "crown_y": "",
            "chin_y": chin["chin_y"] if chin else "",
            "centre_x": "",
            "unjudged": "",
            "source": f"frontal:whitened from {row['made_from']}",
            "note": "white backdrop and navy top put on a London neutral photo",
        })
    write(os.path.join(HERE, "whitened", "labels.csv"), whitened, [
        "# Labels for ../shared/photos/frontal/whitened (sample set \"whitened\"), written by",
        "# samples/make_frontal_sets.py from its labels.csv: 20 compliant whole photos of 20 people, to be",
        "# framed to 32 x 22 mm and approved. The chin is the source photo's (landmarks.csv, same pixels).",
    ])


def write(path, rows, comments):
    with open(path, "w", newline="", encoding="utf-8") as f:
        for c in comments:
            f.write(c + "\n")
        w = csv.DictWriter(f, fieldnames=HEADER, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
