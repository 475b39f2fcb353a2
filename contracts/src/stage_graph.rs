//! The stage graph as data: which stages must be locked (or completed) before a stage may lock,
//! which stages an unlock cascades to, and which stages are optional. The run logic reads only
//! this value; no gate or cascade is written anywhere else. Operators may load their own graph
//! from JSON or TOML; it is validated before it is used.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::stage::Stage;

/// What must hold before a stage may lock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateRule {
    /// Stages that must be locked (or skipped) first. Their IDs are chained into this stage's inputs.
    #[serde(default)]
    pub requires_locked: Vec<Stage>,
    /// Stages whose work must have completed first (e.g. export needs a completed parse).
    #[serde(default)]
    pub requires_completed: Vec<Stage>,
}

/// The gating and cascade rules of a run (SPEC §2.1). Construct with [`StageGraphConfig::default`]
/// or one of the checked loaders; once held, it is valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawGraph")]
pub struct StageGraphConfig {
    stages: Vec<Stage>,
    gating_rules: BTreeMap<Stage, GateRule>,
    cascade_rules: BTreeMap<Stage, Vec<Stage>>,
    optional_stages: BTreeSet<Stage>,
}

/// Why a stage graph file was refused. Shown to the operator at startup, who fixes the file
/// (the daemon exits with code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageGraphError {
    /// The text is not valid JSON/TOML or has the wrong shape.
    #[error("stage graph is not valid {format}: {message}")]
    Syntax {
        /// `JSON` or `TOML`.
        format: &'static str,
        /// The parser's message, with line and column where it has them.
        message: String,
    },
    /// A name that is not one of the eight stages.
    #[error("stage graph: unknown stage `{name}` in {field}")]
    UnknownStage {
        /// The offending name.
        name: String,
        /// Where it was found, e.g. `gating_rules.selection.requires_locked`.
        field: String,
    },
    /// A stage listed twice in `stages`.
    #[error("stage graph: stage `{0}` is listed twice in stages")]
    DuplicateStage(Stage),
    /// A rule names a stage that is not in `stages`.
    #[error("stage graph: {field} names `{stage}`, which is not in stages")]
    NotInGraph {
        /// The stage missing from `stages`.
        stage: Stage,
        /// Where it was named.
        field: String,
    },
    /// A stage gated on itself.
    #[error("stage graph: `{0}` is gated on itself")]
    SelfGate(Stage),
    /// The gates form a cycle, so none of its stages could ever lock.
    #[error("stage graph: gating rules form a cycle: {}", display_cycle(.0))]
    Cycle(Vec<Stage>),
    /// A cascade target that does not depend on its trigger, so unlocking would cut an unrelated stage.
    #[error("stage graph: unlocking `{trigger}` cascades to `{target}`, which is not downstream of it")]
    CascadeNotDownstream {
        /// The stage being unlocked.
        trigger: Stage,
        /// The stage it would cascade to.
        target: Stage,
    },
}

fn display_cycle(cycle: &[Stage]) -> String {
    cycle.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" -> ")
}

/// The file format before names are checked: plain strings, so an unknown stage is reported
/// with the field it was found in rather than as a generic serde error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGraph {
    #[serde(default)]
    stages: Option<Vec<String>>,
    #[serde(default)]
    gating_rules: BTreeMap<String, RawGate>,
    #[serde(default)]
    cascade_rules: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    optional_stages: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    #[serde(default)]
    requires_locked: Vec<String>,
    #[serde(default)]
    requires_completed: Vec<String>,
}

fn stage(name: &str, field: impl Into<String>) -> Result<Stage, StageGraphError> {
    name.parse().map_err(|_| StageGraphError::UnknownStage { name: name.to_owned(), field: field.into() })
}

fn parse_stages(names: &[String], field: &str) -> Result<Vec<Stage>, StageGraphError> {
    names.iter().map(|n| stage(n, field)).collect()
}

impl Default for StageGraphConfig {
    /// The graph of SPEC §2.1.
    fn default() -> Self {
        use Stage::*;
        let gate = |locked: &[Stage], completed: &[Stage]| GateRule {
            requires_locked: locked.to_vec(),
            requires_completed: completed.to_vec(),
        };
        let gating_rules = BTreeMap::from([
            (Selection, gate(&[Discovery], &[])),
            (Context, gate(&[Selection], &[])),
            (TableAvailability, gate(&[Selection], &[])),
            (TableSelection, gate(&[TableAvailability], &[])),
            (Preview, gate(&[TableSelection], &[])),
            (Parse, gate(&[TableSelection], &[])),
            (Export, gate(&[Parse], &[Parse])),
        ]);
        let cascade_rules = BTreeMap::from([
            (Discovery, vec![Selection, Context, TableAvailability, TableSelection, Preview, Parse, Export]),
            (Selection, vec![Context, TableAvailability, TableSelection, Preview, Parse, Export]),
            (TableAvailability, vec![TableSelection, Preview, Parse, Export]),
            (TableSelection, vec![Preview, Parse, Export]),
            (Parse, vec![Export]),
        ]);
        StageGraphConfig {
            stages: Stage::ALL.to_vec(),
            gating_rules,
            cascade_rules,
            optional_stages: BTreeSet::from([Context, Preview]),
        }
    }
}

impl StageGraphConfig {
    /// Loads and validates a graph from JSON text.
    ///
    /// # Errors
    /// [`StageGraphError`] naming the first problem found.
    pub fn from_json_str(text: &str) -> Result<Self, StageGraphError> {
        let raw: RawGraph = serde_json::from_str(text)
            .map_err(|e| StageGraphError::Syntax { format: "JSON", message: e.to_string() })?;
        Self::try_from(raw)
    }

    /// Loads and validates a graph from TOML text.
    ///
    /// # Errors
    /// [`StageGraphError`] naming the first problem found.
    pub fn from_toml_str(text: &str) -> Result<Self, StageGraphError> {
        let raw: RawGraph =
            toml::from_str(text).map_err(|e| StageGraphError::Syntax { format: "TOML", message: e.to_string() })?;
        Self::try_from(raw)
    }
}

impl TryFrom<RawGraph> for StageGraphConfig {
    type Error = StageGraphError;

    fn try_from(raw: RawGraph) -> Result<Self, StageGraphError> {
        let stages = match raw.stages {
            Some(names) => parse_stages(&names, "stages")?,
            None => Stage::ALL.to_vec(),
        };
        let mut gating_rules = BTreeMap::new();
        for (name, gate) in &raw.gating_rules {
            let field = format!("gating_rules.{name}");
            let rule = GateRule {
                requires_locked: parse_stages(&gate.requires_locked, &format!("{field}.requires_locked"))?,
                requires_completed: parse_stages(&gate.requires_completed, &format!("{field}.requires_completed"))?,
            };
            gating_rules.insert(stage(name, "gating_rules")?, rule);
        }
        let mut cascade_rules = BTreeMap::new();
        for (name, targets) in &raw.cascade_rules {
            let targets = parse_stages(targets, &format!("cascade_rules.{name}"))?;
            cascade_rules.insert(stage(name, "cascade_rules")?, targets);
        }
        let optional_stages = parse_stages(&raw.optional_stages, "optional_stages")?.into_iter().collect();
        let graph = StageGraphConfig { stages, gating_rules, cascade_rules, optional_stages };
        graph.validate()?;
        Ok(graph)
    }
}

impl StageGraphConfig {
    /// Checks the invariants the run logic relies on: every stage known and listed once, no
    /// stage gated on itself, no cycle, and every cascade target downstream of its trigger.
    ///
    /// # Errors
    /// [`StageGraphError`] naming the first problem found.
    pub fn validate(&self) -> Result<(), StageGraphError> {
        let mut seen = BTreeSet::new();
        for stage in &self.stages {
            if !seen.insert(*stage) {
                return Err(StageGraphError::DuplicateStage(*stage));
            }
        }
        let listed = |stage: Stage, field: String| {
            if seen.contains(&stage) {
                Ok(())
            } else {
                Err(StageGraphError::NotInGraph { stage, field })
            }
        };
        for (stage, rule) in &self.gating_rules {
            listed(*stage, "gating_rules".into())?;
            for needed in rule.requires_locked.iter().chain(&rule.requires_completed) {
                listed(*needed, format!("gating_rules.{stage}"))?;
                if needed == stage {
                    return Err(StageGraphError::SelfGate(*stage));
                }
            }
        }
        for (trigger, targets) in &self.cascade_rules {
            listed(*trigger, "cascade_rules".into())?;
            for target in targets {
                listed(*target, format!("cascade_rules.{trigger}"))?;
            }
        }
        for stage in &self.optional_stages {
            listed(*stage, "optional_stages".into())?;
        }
        if let Some(cycle) = self.find_cycle() {
            return Err(StageGraphError::Cycle(cycle));
        }
        for (trigger, targets) in &self.cascade_rules {
            if let Some(target) = targets.iter().find(|t| !self.depends_on(**t, *trigger)) {
                return Err(StageGraphError::CascadeNotDownstream { trigger: *trigger, target: *target });
            }
        }
        Ok(())
    }

    /// The stages of this graph in pipeline order.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// Whether `stage` is part of this graph.
    pub fn contains(&self, stage: Stage) -> bool {
        self.stages.contains(&stage)
    }

    /// What must hold before `stage` may lock (empty for a stage without gates).
    pub fn gate(&self, stage: Stage) -> GateRule {
        self.gating_rules.get(&stage).cloned().unwrap_or_default()
    }

    /// The stages an unlock of `stage` also unlocks (when they are locked).
    pub fn cascade_targets(&self, stage: Stage) -> &[Stage] {
        self.cascade_rules.get(&stage).map_or(&[], Vec::as_slice)
    }

    /// Whether `stage` may be skipped.
    pub fn is_optional(&self, stage: Stage) -> bool {
        self.optional_stages.contains(&stage)
    }

    /// Direct gates of a stage: everything it requires locked or completed.
    fn needs(&self, stage: Stage) -> impl Iterator<Item = Stage> + '_ {
        self.gating_rules
            .get(&stage)
            .into_iter()
            .flat_map(|r| r.requires_locked.iter().chain(&r.requires_completed).copied())
    }

    /// Whether `stage` transitively requires `upstream`. Terminates because the graph is acyclic
    /// (checked before this is called) and finite.
    fn depends_on(&self, stage: Stage, upstream: Stage) -> bool {
        self.needs(stage).any(|n| n == upstream || self.depends_on(n, upstream))
    }

    /// A cycle in the gating rules, as the path that closes it, if there is one.
    fn find_cycle(&self) -> Option<Vec<Stage>> {
        fn visit(
            g: &StageGraphConfig,
            s: Stage,
            path: &mut Vec<Stage>,
            done: &mut BTreeSet<Stage>,
        ) -> Option<Vec<Stage>> {
            if let Some(pos) = path.iter().position(|p| *p == s) {
                let mut cycle = path[pos..].to_vec();
                cycle.push(s);
                return Some(cycle);
            }
            if done.contains(&s) {
                return None;
            }
            path.push(s);
            for n in g.needs(s).collect::<Vec<_>>() {
                if let Some(c) = visit(g, n, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            done.insert(s);
            None
        }
        let mut done = BTreeSet::new();
        self.stages.iter().find_map(|s| visit(self, *s, &mut Vec::new(), &mut done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Stage::*;

    #[test]
    fn default_is_valid_and_matches_spec() {
        let g = StageGraphConfig::default();
        g.validate().unwrap();
        assert_eq!(g.gate(Export), GateRule { requires_locked: vec![Parse], requires_completed: vec![Parse] });
        assert_eq!(g.gate(Discovery), GateRule::default());
        assert_eq!(g.cascade_targets(Parse), &[Export]);
        assert!(g.cascade_targets(Context).is_empty());
        assert!(g.is_optional(Preview) && !g.is_optional(Parse));
    }

    #[test]
    fn default_round_trips_through_json() {
        let json = serde_json::to_string(&StageGraphConfig::default()).unwrap();
        assert_eq!(StageGraphConfig::from_json_str(&json).unwrap(), StageGraphConfig::default());
    }

    #[test]
    fn loads_toml() {
        let text = r#"
            stages = ["discovery", "selection"]
            optional_stages = []
            [gating_rules.selection]
            requires_locked = ["discovery"]
            [cascade_rules]
            discovery = ["selection"]
        "#;
        let g = StageGraphConfig::from_toml_str(text).unwrap();
        assert_eq!(g.stages(), &[Discovery, Selection]);
        assert_eq!(g.cascade_targets(Discovery), &[Selection]);
    }

    #[test]
    fn refuses_unknown_stage_naming_the_field() {
        let err =
            StageGraphConfig::from_json_str(r#"{"gating_rules": {"selection": {"requires_locked": ["discovry"]}}}"#)
                .unwrap_err();
        assert_eq!(
            err,
            StageGraphError::UnknownStage {
                name: "discovry".into(),
                field: "gating_rules.selection.requires_locked".into()
            }
        );
    }

    #[test]
    fn refuses_self_gate() {
        let err = StageGraphConfig::from_json_str(r#"{"gating_rules": {"parse": {"requires_locked": ["parse"]}}}"#)
            .unwrap_err();
        assert_eq!(err, StageGraphError::SelfGate(Parse));
    }

    #[test]
    fn refuses_cycle() {
        let text = r#"{"gating_rules": {
            "selection": {"requires_locked": ["discovery"]},
            "discovery": {"requires_locked": ["parse"]},
            "parse": {"requires_completed": ["selection"]}}}"#;
        let err = StageGraphConfig::from_json_str(text).unwrap_err();
        assert!(matches!(err, StageGraphError::Cycle(ref c) if c.len() == 4 && c.first() == c.last()), "{err}");
    }

    #[test]
    fn refuses_cascade_to_a_stage_that_is_not_downstream() {
        let text = r#"{"gating_rules": {"selection": {"requires_locked": ["discovery"]}},
                       "cascade_rules": {"selection": ["discovery"]}}"#;
        let err = StageGraphConfig::from_json_str(text).unwrap_err();
        assert_eq!(err, StageGraphError::CascadeNotDownstream { trigger: Selection, target: Discovery });
    }

    #[test]
    fn refuses_bad_syntax_and_unknown_fields() {
        assert!(matches!(StageGraphConfig::from_json_str("{"), Err(StageGraphError::Syntax { format: "JSON", .. })));
        assert!(matches!(
            StageGraphConfig::from_toml_str("gates = 1"),
            Err(StageGraphError::Syntax { format: "TOML", .. })
        ));
    }
}
