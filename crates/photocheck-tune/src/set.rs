//! The sample-set format: a folder with `labels.csv` (one row per photo: compliant or not, the rules
//! it breaks, optional ground-truth head rows) and an optional `set.toml` (name, description, and
//! where the photos are when they are not beside the labels). samples/README.md is the reference.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use photocheck_core::RuleId;
use serde::{Deserialize, Serialize};

pub const LABELS_FILE: &str = "labels.csv";
pub const SET_FILE: &str = "set.toml";

#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no {LABELS_FILE} here; a sample set is a folder with {LABELS_FILE} (see samples/README.md)")]
    NoLabels { path: PathBuf },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}, row {row} ({file}): {message}")]
    Row {
        path: PathBuf,
        row: usize,
        file: String,
        message: String,
    },
    #[error("{path}: {count} labelled photo(s) not found under {photos}, first: {first}")]
    Missing {
        path: PathBuf,
        photos: PathBuf,
        count: usize,
        first: String,
    },
}

/// `set.toml`: what the set is and where its photos are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SetInfo {
    /// Short name, used to prefix photo names in reports; defaults to the folder name.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Folder the `file` column is relative to, itself relative to the set folder; default `.`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photos: Option<PathBuf>,
    /// The rules the labels judge; default every rule. A set labelled for a few rules only (faces
    /// judged for masks and smiles, never for framing) would otherwise count every rule it leaves out
    /// as kept: rules not listed here are unjudged on every row, unless the row breaks them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judged: Option<Vec<RuleId>>,
    /// How the set's photos came (`camera`, `album`, `stored`), which decides what their age needs
    /// as evidence; default the check's own (album: the EXIF capture date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<photocheck_core::Channel>,
}

/// Ground truth for one photo.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Label {
    pub compliant: bool,
    /// Rules the photo breaks; empty when compliant (and for a rejection no rule covers, with a note).
    pub breaks: Vec<RuleId>,
    /// Rules the labeller could not judge: left out of those rules' confusion matrices.
    pub unjudged: Vec<RuleId>,
    /// Crown (top of the head, hair included) and chin rows, px of the upright photo.
    pub crown_y: Option<f64>,
    pub chin_y: Option<f64>,
    /// Head centre column, px of the upright photo.
    pub centre_x: Option<f64>,
    /// Where the photo came from (for derived photos: the source and the transformation).
    pub source: String,
    pub note: String,
}

impl Label {
    /// True when the label says `rule` is broken.
    pub fn breaks(&self, rule: RuleId) -> bool {
        self.breaks.contains(&rule)
    }

    /// Ground-truth head length in px, when the labels give both rows.
    pub fn head_length_px(&self) -> Option<f64> {
        Some(self.chin_y? - self.crown_y?)
    }
}

/// One labelled photo.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// As written in the labels: relative to the set's photo folder.
    pub file: String,
    pub path: PathBuf,
    pub label: Label,
}

#[derive(Debug, Clone)]
pub struct SampleSet {
    pub dir: PathBuf,
    pub info: SetInfo,
    pub samples: Vec<Sample>,
}

/// A labels row as it stands in the CSV.
#[derive(Debug, Serialize, Deserialize)]
struct Row {
    file: String,
    compliant: String,
    #[serde(default)]
    breaks: String,
    #[serde(default)]
    crown_y: Option<f64>,
    #[serde(default)]
    chin_y: Option<f64>,
    #[serde(default)]
    centre_x: Option<f64>,
    #[serde(default)]
    unjudged: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    note: String,
}

/// Rule lists in the CSV: rule ids separated by `;`.
pub struct RuleList(pub Vec<RuleId>);

impl FromStr for RuleList {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = Vec::new();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let id = rule_id(part)?;
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(RuleList(out))
    }
}

impl fmt::Display for RuleList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|r| r.as_str()).collect();
        f.write_str(&names.join(";"))
    }
}

/// A rule id by its snake_case name, as profiles and reports spell it.
pub fn rule_id(name: &str) -> Result<RuleId, String> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|_| {
        format!("unknown rule {name:?} (rules are named as in reports: head_length, background, eyewear, ...)")
    })
}

impl SampleSet {
    /// Reads a set folder (or the labels file itself) and checks every row and that every photo exists.
    pub fn load(path: &Path) -> Result<SampleSet, SetError> {
        let dir = if path.is_file() {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            path.to_path_buf()
        };
        let labels_path = dir.join(LABELS_FILE);
        if !labels_path.is_file() {
            return Err(SetError::NoLabels { path: dir });
        }
        let info_path = dir.join(SET_FILE);
        let mut info = if info_path.is_file() {
            let text = read(&info_path)?;
            toml::from_str::<SetInfo>(&text).map_err(|e| SetError::Invalid {
                path: info_path.clone(),
                message: e.to_string(),
            })?
        } else {
            SetInfo::default()
        };
        if info.name.is_empty() {
            info.name = folder_name(&dir);
        }
        let photos = dir.join(info.photos.clone().unwrap_or_else(|| PathBuf::from(".")));
        let samples = parse_labels(
            &read(&labels_path)?,
            &labels_path,
            &photos,
            info.judged.as_deref(),
        )?;
        let missing: Vec<&Sample> = samples.iter().filter(|s| !s.path.is_file()).collect();
        if let Some(first) = missing.first() {
            return Err(SetError::Missing {
                path: labels_path,
                photos,
                count: missing.len(),
                first: first.file.clone(),
            });
        }
        Ok(SampleSet { dir, info, samples })
    }

    /// Writes `labels.csv` and `set.toml` into `dir` (the photos are the caller's business).
    pub fn write_labels(dir: &Path, info: &SetInfo, samples: &[Sample]) -> Result<(), SetError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SetError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let info_text = toml::to_string_pretty(info).map_err(|e| SetError::Invalid {
            path: dir.join(SET_FILE),
            message: e.to_string(),
        })?;
        std::fs::write(dir.join(SET_FILE), info_text).map_err(io(&dir.join(SET_FILE)))?;
        std::fs::write(dir.join(LABELS_FILE), labels_csv(samples))
            .map_err(io(&dir.join(LABELS_FILE)))
    }
}

/// The CSV text for labelled samples, header first.
pub fn labels_csv(samples: &[Sample]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for s in samples {
        let l = &s.label;
        // Serialising plain strings and numbers into memory cannot fail.
        let _ = w.serialize(Row {
            file: s.file.clone(),
            compliant: if l.compliant { "yes" } else { "no" }.into(),
            breaks: RuleList(l.breaks.clone()).to_string(),
            crown_y: l.crown_y,
            chin_y: l.chin_y,
            centre_x: l.centre_x,
            unjudged: RuleList(l.unjudged.clone()).to_string(),
            source: l.source.clone(),
            note: l.note.clone(),
        });
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// `judged`: the set's judged rules (`None`: all); the others join every row's unjudged rules.
fn parse_labels(
    text: &str,
    path: &Path,
    photos: &Path,
    judged: Option<&[RuleId]>,
) -> Result<Vec<Sample>, SetError> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, row) in reader.deserialize::<Row>().enumerate() {
        let row = row.map_err(|e| SetError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let bad = |message: String| SetError::Row {
            path: path.to_path_buf(),
            row: i + 2,
            file: row.file.clone(),
            message,
        };
        if row.file.is_empty() {
            return Err(bad("the file column is empty".into()));
        }
        if !seen.insert(row.file.clone()) {
            return Err(bad("this photo is labelled twice".into()));
        }
        let compliant = match row.compliant.to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" | "1" => true,
            "no" | "n" | "false" | "0" => false,
            other => return Err(bad(format!("compliant must be yes or no, not {other:?}"))),
        };
        let breaks = row.breaks.parse::<RuleList>().map_err(&bad)?.0;
        let mut unjudged = row.unjudged.parse::<RuleList>().map_err(&bad)?.0;
        if compliant && !breaks.is_empty() {
            return Err(bad("a compliant photo cannot break rules".into()));
        }
        // A reviewer may reject for something no rule covers (inappropriate content); the note must
        // then say what, so a forgotten breaks column is still caught.
        if !compliant && breaks.is_empty() && row.note.is_empty() {
            return Err(bad(
                "a non-compliant photo must name the rules it breaks (or say why in note)".into(),
            ));
        }
        if let Some(both) = breaks.iter().find(|r| unjudged.contains(r)) {
            return Err(bad(format!("{both} is both broken and unjudged")));
        }
        if let (Some(c), Some(h)) = (row.crown_y, row.chin_y) {
            if c >= h {
                return Err(bad(format!(
                    "crown_y {c} must be above (less than) chin_y {h}"
                )));
            }
        }
        // A chin alone is ground truth of its own (a template's chin under hair whose top nobody
        // marked); a crown alone gives no length.
        if row.crown_y.is_some() && row.chin_y.is_none() {
            return Err(bad("crown_y needs chin_y (a chin alone is fine)".into()));
        }
        // After the checks, so a row is still refused for what its own columns say. A break of a rule
        // the set does not judge stays a break: the labeller saw it.
        if let Some(judged) = judged {
            for rule in RuleId::ALL {
                if !judged.contains(&rule) && !breaks.contains(&rule) && !unjudged.contains(&rule) {
                    unjudged.push(rule);
                }
            }
        }
        out.push(Sample {
            path: photos.join(&row.file),
            file: row.file,
            label: Label {
                compliant,
                breaks,
                unjudged,
                crown_y: row.crown_y,
                chin_y: row.chin_y,
                centre_x: row.centre_x,
                source: row.source,
                note: row.note,
            },
        });
    }
    if out.is_empty() {
        return Err(SetError::Invalid {
            path: path.to_path_buf(),
            message: "no labelled photos".into(),
        });
    }
    Ok(out)
}

fn read(path: &Path) -> Result<String, SetError> {
    std::fs::read_to_string(path).map_err(|source| SetError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn folder_name(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "samples".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_with(labels: &str) -> (tempfile::TempDir, Result<SampleSet, SetError>) {
        set_with_info("", labels)
    }

    fn set_with_info(info: &str, labels: &str) -> (tempfile::TempDir, Result<SampleSet, SetError>) {
        let dir = tempfile::tempdir().unwrap();
        if !info.is_empty() {
            std::fs::write(dir.path().join(SET_FILE), info).unwrap();
        }
        std::fs::write(dir.path().join(LABELS_FILE), labels).unwrap();
        std::fs::write(dir.path().join("a.jpg"), b"x").unwrap();
        std::fs::write(dir.path().join("b.jpg"), b"x").unwrap();
        let set = SampleSet::load(dir.path());
        (dir, set)
    }

    const HEADER: &str = "file,compliant,breaks,crown_y,chin_y,centre_x,unjudged,source,note\n";

    #[test]
    fn reads_labels_with_comments_and_optional_columns() {
        let (_d, set) = set_with(&format!(
            "# a comment\n{HEADER}a.jpg,yes,,10,250.5,130,head_width,src,fine\nb.jpg,no,background; head_length,,,,,,\n"
        ));
        let set = set.unwrap();
        assert_eq!(set.samples.len(), 2);
        let a = &set.samples[0].label;
        assert!(a.compliant);
        assert_eq!(a.head_length_px(), Some(240.5));
        assert_eq!(a.unjudged, vec![RuleId::HeadWidth]);
        let b = &set.samples[1].label;
        assert_eq!(b.breaks, vec![RuleId::Background, RuleId::HeadLength]);
        assert!(b.breaks(RuleId::HeadLength) && !b.breaks(RuleId::Sharpness));
    }

    #[test]
    fn a_rejection_no_rule_covers_needs_a_note() {
        let (_d, set) = set_with("file,compliant,breaks,note\na.jpg,no,,inappropriate content\n");
        let label = &set.unwrap().samples[0].label;
        assert!(!label.compliant && label.breaks.is_empty());
    }

    #[test]
    fn minimal_columns_are_enough() {
        let (_d, set) = set_with("file,compliant,breaks\na.jpg,no,eyewear\n");
        assert_eq!(set.unwrap().samples[0].label.breaks, vec![RuleId::Eyewear]);
    }

    #[test]
    fn bad_rows_name_the_row_and_the_problem() {
        let cases = [
            ("a.jpg,maybe,,,,,,,\n", "yes or no"),
            (
                "a.jpg,no,head_lenght,,,,,,\n",
                "unknown rule \"head_lenght\"",
            ),
            ("a.jpg,yes,background,,,,,,\n", "cannot break"),
            ("a.jpg,no,,,,,,,\n", "must name the rules"),
            ("a.jpg,yes,,300,200,,,,\n", "must be above"),
            ("a.jpg,yes,,300,,,,,\n", "crown_y needs chin_y"),
            (
                "a.jpg,no,background,,,,background,,\n",
                "both broken and unjudged",
            ),
            ("a.jpg,yes,,,,,,,\na.jpg,yes,,,,,,,\n", "labelled twice"),
        ];
        for (rows, want) in cases {
            let (_d, set) = set_with(&format!("{HEADER}{rows}"));
            let err = set.unwrap_err().to_string();
            assert!(err.contains(want), "{rows:?}: {err}");
            assert!(err.contains("row 2") || err.contains("row 3"), "{err}");
        }
    }

    #[test]
    fn missing_photos_are_counted_and_named() {
        let (_d, set) = set_with(&format!(
            "{HEADER}a.jpg,yes,,,,,,,\nzz.jpg,yes,,,,,,,\nyy.jpg,yes,,,,,,,\n"
        ));
        let err = set.unwrap_err().to_string();
        assert!(
            err.contains("2 labelled photo(s) not found") && err.contains("zz.jpg"),
            "{err}"
        );
    }

    #[test]
    fn set_toml_points_at_the_photos_elsewhere() {
        let root = tempfile::tempdir().unwrap();
        let set_dir = root.path().join("labels");
        let photos = root.path().join("photos");
        std::fs::create_dir_all(&photos).unwrap();
        std::fs::write(photos.join("a.jpg"), b"x").unwrap();
        let sample = Sample {
            file: "a.jpg".into(),
            path: PathBuf::new(),
            label: Label {
                compliant: false,
                breaks: vec![RuleId::Recency, RuleId::Eyewear],
                note: "comma, and \"quotes\"".into(),
                ..Label::default()
            },
        };
        let info = SetInfo {
            name: "mine".into(),
            photos: Some("../photos".into()),
            ..SetInfo::default()
        };
        SampleSet::write_labels(&set_dir, &info, std::slice::from_ref(&sample)).unwrap();
        let set = SampleSet::load(&set_dir.join(LABELS_FILE)).unwrap();
        assert_eq!(set.info.name, "mine");
        assert_eq!(set.samples[0].label, sample.label);
        assert_eq!(set.samples[0].path, set_dir.join("../photos").join("a.jpg"));
    }

    #[test]
    fn rules_the_set_does_not_judge_are_unjudged_on_every_row() {
        let (_d, set) = set_with_info(
            "judged = [\"eyewear\", \"headwear\"]\n",
            &format!("{HEADER}a.jpg,no,eyewear,,,,,,sunglasses\nb.jpg,no,background,,,,headwear,,hood?\n"),
        );
        let set = set.unwrap();
        assert_eq!(
            set.info.judged,
            Some(vec![RuleId::Eyewear, RuleId::Headwear])
        );
        let a = &set.samples[0].label;
        assert_eq!(a.breaks, vec![RuleId::Eyewear]);
        assert!(
            a.unjudged.contains(&RuleId::Background) && !a.unjudged.contains(&RuleId::Headwear)
        );
        assert_eq!(a.unjudged.len(), RuleId::ALL.len() - 2);
        // A break of a rule the set does not judge is kept as a break, not made unjudged.
        let b = &set.samples[1].label;
        assert_eq!(b.breaks, vec![RuleId::Background]);
        assert!(
            !b.unjudged.contains(&RuleId::Background) && !b.unjudged.contains(&RuleId::Eyewear)
        );
        assert_eq!(b.unjudged[0], RuleId::Headwear);
        assert_eq!(b.unjudged.len(), RuleId::ALL.len() - 2);
        // Without `judged`, every rule is judged as before.
        let (_d, set) = set_with(&format!("{HEADER}a.jpg,no,eyewear,,,,,,\n"));
        assert!(set.unwrap().samples[0].label.unjudged.is_empty());
    }

    #[test]
    fn a_folder_without_labels_says_what_a_set_is() {
        let dir = tempfile::tempdir().unwrap();
        let err = SampleSet::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("no labels.csv") && err.contains("samples/README.md"),
            "{err}"
        );
    }
}
