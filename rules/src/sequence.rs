//! The expected boot sequence (`boot_sequence.json`): steps (a stage, a timeout, optional or
//! terminal) joined by "may come next" edges, loaded into a petgraph `Graph` and validated (one
//! start, all reachable, acyclic, stages never going back, a terminal step). The engine matches
//! its events to step ids and uses [`Sequence::expected_after`] to name the frontier of a stall.
//! Steps may carry the reference model's timing (`model_ms`, and `model_timing` beside the steps).

use std::collections::{BTreeSet, HashMap, VecDeque};

use petgraph::graph::{Graph, NodeIndex};
use petgraph::visit::Bfs;
use petgraph::Direction;
use serde::Deserialize;

use crate::knowledge::FileClass;
use crate::span::{Key, Source};
use crate::timing::{self, ModelTiming, MsRange};
use crate::{is_kebab, LoadError, Stage, Vocabulary};

/// A step of the sequence graph.
pub type StepId = NodeIndex;

/// One node of the sequence graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Kebab-case id, e.g. `dhcp-offer`; the engine maps its events to these.
    pub id: String,
    /// The stage the step belongs to.
    pub stage: Stage,
    /// Human words for what is seen, e.g. "the DHCP OFFER from the server".
    pub what: String,
    /// How long after reaching this step the next step may take, in ms.
    pub timeout_ms: u64,
    /// How long a healthy network or phone takes to produce the event that reaches this step,
    /// from the message it answers or follows (the reference model's; `None`: the model says
    /// nothing of it).
    pub model_ms: Option<MsRange>,
    /// May be skipped (CTL/ITL, firmware, TCP connect for SIP/UDP).
    pub optional: bool,
    /// Reaching it means the boot is done (registered).
    pub terminal: bool,
    /// The events that reach it (any one of them).
    pub reached_by: Vec<EventMatch>,
}

/// An event that reaches a step: `reached_by` in `boot_sequence.json`. Every qualifier given
/// must hold; which ones an event type takes is the engine's word ([`crate::EventDef`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventMatch {
    /// The event type, e.g. `dhcp_offer`.
    pub event: String,
    /// The file is of one of these classes (file events).
    #[serde(default)]
    pub file: Vec<FileClass>,
    /// The file travelled so (file events).
    #[serde(default)]
    pub via: Option<FileVia>,
    /// The signalling protocol (registration events).
    #[serde(default)]
    pub proto: Option<Protocol>,
    /// The announcement carries the phone's address (a running phone's periodic one) or not
    /// (a phone that boots).
    #[serde(default)]
    pub with_address: Option<bool>,
    /// The REGISTER asks to be forgotten (`Expires: 0`) or not.
    #[serde(default)]
    pub deregister: Option<bool>,
    /// The event is the phone's own, and tells that the step was passed although its
    /// answer is not in the capture (a keepalive only a registered phone sends): the
    /// report lists the step as inferred. Not a qualifier: any event may be so marked.
    #[serde(default)]
    pub inferred: bool,
}

impl EventMatch {
    /// The qualifiers given, by their names in the file.
    pub fn qualifiers(&self) -> Vec<&'static str> {
        let mut q = Vec::new();
        if !self.file.is_empty() {
            q.push("file");
        }
        if self.via.is_some() {
            q.push("via");
        }
        if self.proto.is_some() {
            q.push("proto");
        }
        if self.with_address.is_some() {
            q.push("with_address");
        }
        if self.deregister.is_some() {
            q.push("deregister");
        }
        q
    }

    /// Whether an event with these qualities meets every qualifier of the match (the event's
    /// type is the caller's to compare). A quality the event does not state holds any
    /// qualifier: a file error does not say how the file travelled.
    pub fn admits(&self, q: &Qualities) -> bool {
        fn holds<T: PartialEq>(want: Option<T>, is: Option<T>) -> bool {
            want.is_none_or(|w| is.is_none_or(|i| i == w))
        }
        (self.file.is_empty() || q.file.is_none_or(|c| self.file.contains(&c)))
            && holds(self.via, q.via)
            && holds(self.proto, q.proto)
            && holds(self.with_address, q.with_address)
            && holds(self.deregister, q.deregister)
    }
}

/// What an event states that a step's qualifiers ask about ([`EventMatch::admits`]); `None`
/// where it states nothing (or its type takes no such qualifier).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Qualities {
    /// The class of the file (file events).
    pub file: Option<FileClass>,
    /// How the file travelled.
    pub via: Option<FileVia>,
    /// The signalling protocol.
    pub proto: Option<Protocol>,
    /// The announcement carries the phone's address.
    pub with_address: Option<bool>,
    /// The REGISTER asks to be forgotten.
    pub deregister: Option<bool>,
}

/// How a file travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileVia {
    /// TFTP (UDP 69 and the server's transfer port).
    Tftp,
    /// HTTP on TCP 6970.
    Http,
}

impl FileVia {
    /// Lower-case name, as the data files and reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            FileVia::Tftp => "tftp",
            FileVia::Http => "http",
        }
    }
}

/// A signalling protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Skinny, TCP 2000 (2443 over TLS).
    Sccp,
    /// SIP, UDP/TCP 5060 (5061 over TLS).
    Sip,
}

impl Protocol {
    /// Lower-case name, as the data files and reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Sccp => "sccp",
            Protocol::Sip => "sip",
        }
    }
}

/// The validated boot sequence.
#[derive(Debug, Clone)]
pub struct Sequence {
    graph: Graph<Step, ()>,
    ids: HashMap<String, StepId>,
    /// Steps in rank order.
    order: Vec<StepId>,
    /// Rank of each step, by node index.
    ranks: Vec<usize>,
    start: StepId,
    model_timing: Option<ModelTiming>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SequenceFile {
    steps: Vec<StepFile>,
    #[serde(default)]
    model_timing: Option<ModelTiming>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    id: String,
    stage: Stage,
    what: String,
    timeout_ms: u64,
    #[serde(default)]
    model_ms: Option<MsRange>,
    next: Vec<String>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    terminal: bool,
    reached_by: Vec<EventMatch>,
}

impl Sequence {
    /// Parse and validate a `boot_sequence.json` text; `file` names it in errors, `vocab`
    /// has the event types `reached_by` may name.
    ///
    /// # Errors
    /// JSON or field errors (unknown fields included), and: an id not in kebab-case or used
    /// twice, a zero timeout, `next` naming an unknown step or one step twice, an edge to an
    /// earlier stage, not exactly one start step, a step unreachable from the start, a cycle, no
    /// terminal step, a terminal step with successors or a non-terminal one without; a step no
    /// event reaches, an unknown event type or a qualifier that type does not take; a model
    /// range (`model_ms`, or one of `model_timing`) with its first bound above its second or a
    /// bound outside 0 ms..a day, a single time of `model_timing` not positive (a spread may
    /// be 0). Each error carries the line of the step object, or of the offending value.
    pub fn from_json(file: &str, text: &str, vocab: &Vocabulary) -> Result<Sequence, LoadError> {
        let (parsed, src) = Source::parse::<SequenceFile>(file, text)?;
        let step_node = |i: usize| src.node(&[Key::Field("steps"), Key::Index(i)]);
        let field =
            |i: usize, f: &str| src.node(&[Key::Field("steps"), Key::Index(i), Key::Field(f)]);
        let next_node = |i: usize, j: usize| {
            src.node(&[
                Key::Field("steps"),
                Key::Index(i),
                Key::Field("next"),
                Key::Index(j),
            ])
        };

        let mut graph = Graph::<Step, ()>::with_capacity(parsed.steps.len(), 0);
        let mut ids = HashMap::new();
        for (i, s) in parsed.steps.iter().enumerate() {
            if !is_kebab(&s.id) {
                return Err(src.error(
                    field(i, "id"),
                    format!(
                        "step id `{}` is not kebab-case ([a-z0-9]+(-[a-z0-9]+)*)",
                        s.id
                    ),
                ));
            }
            if let Some(&first) = ids.get(&s.id) {
                let first: StepId = first;
                return Err(src.error(
                    step_node(i),
                    format!(
                        "duplicate step id `{}` (first defined on line {})",
                        s.id,
                        src.line(step_node(first.index()))
                    ),
                ));
            }
            if s.timeout_ms == 0 {
                return Err(src.error(
                    field(i, "timeout_ms"),
                    format!("step `{}`: timeout_ms must be positive", s.id),
                ));
            }
            if let Some(r) = s.model_ms {
                timing::check_step(&src, field(i, "model_ms"), &s.id, r)?;
            }
            check_reached_by(&src, i, s, vocab)?;
            let n = graph.add_node(Step {
                id: s.id.clone(),
                stage: s.stage,
                what: s.what.clone(),
                timeout_ms: s.timeout_ms,
                model_ms: s.model_ms,
                optional: s.optional,
                terminal: s.terminal,
                reached_by: s.reached_by.clone(),
            });
            ids.insert(s.id.clone(), n);
        }

        // Nodes were added in file order, so node index == position in `steps`.
        for (i, s) in parsed.steps.iter().enumerate() {
            let from = NodeIndex::new(i);
            for (j, name) in s.next.iter().enumerate() {
                let Some(&to) = ids.get(name) else {
                    return Err(src.error(
                        next_node(i, j),
                        format!("step `{}`: `next` names unknown step `{name}`", s.id),
                    ));
                };
                if graph.contains_edge(from, to) {
                    return Err(src.error(
                        next_node(i, j),
                        format!("step `{}`: `next` lists `{name}` twice", s.id),
                    ));
                }
                let to_stage = graph[to].stage;
                if to_stage < s.stage {
                    return Err(src.error(
                        next_node(i, j),
                        format!(
                            "step `{}` ({}) goes back to `{name}` of the earlier stage {}",
                            s.id, s.stage, to_stage
                        ),
                    ));
                }
                graph.add_edge(from, to, ());
            }
        }

        let starts: Vec<StepId> = graph
            .node_indices()
            .filter(|&n| {
                graph
                    .neighbors_directed(n, Direction::Incoming)
                    .next()
                    .is_none()
            })
            .collect();
        let start = match starts.as_slice() {
            [start] => *start,
            [] if graph.node_count() == 0 => {
                return Err(src.error(src.node(&[Key::Field("steps")]), "no steps"));
            }
            [] => {
                return Err(src.error(
                    src.node(&[Key::Field("steps")]),
                    "no start step: every step is some step's `next`",
                ));
            }
            [first, second, ..] => {
                return Err(src.error(
                    step_node(second.index()),
                    format!(
                        "more than one start step (a step no `next` names): `{}` (line {}) and `{}`",
                        graph[*first].id,
                        src.line(step_node(first.index())),
                        graph[*second].id
                    ),
                ));
            }
        };

        let mut reached = vec![false; graph.node_count()];
        let mut bfs = Bfs::new(&graph, start);
        while let Some(n) = bfs.next(&graph) {
            reached[n.index()] = true;
        }
        if let Some(i) = reached.iter().position(|r| !r) {
            return Err(src.error(
                step_node(i),
                format!(
                    "step `{}` is unreachable from the start step `{}`",
                    graph[NodeIndex::new(i)].id,
                    graph[start].id
                ),
            ));
        }

        if let Some(cycle) = find_cycle(&graph) {
            let names: Vec<&str> = cycle.iter().map(|&n| graph[n].id.as_str()).collect();
            return Err(src.error(
                step_node(cycle[0].index()),
                format!(
                    "step `{}` is on a cycle: {} -> {}",
                    names[0],
                    names.join(" -> "),
                    names[0]
                ),
            ));
        }

        if !graph.node_weights().any(|s| s.terminal) {
            return Err(src.error(
                src.node(&[Key::Field("steps")]),
                "no terminal step (`\"terminal\": true`)",
            ));
        }
        for n in graph.node_indices() {
            let s = &graph[n];
            let has_next = graph.neighbors(n).next().is_some();
            if s.terminal && has_next {
                return Err(src.error(
                    step_node(n.index()),
                    format!("terminal step `{}` has a `next`", s.id),
                ));
            }
            if !s.terminal && !has_next {
                return Err(src.error(
                    step_node(n.index()),
                    format!("step `{}` has no `next` but is not terminal", s.id),
                ));
            }
        }

        if let Some(m) = &parsed.model_timing {
            timing::check_model(&src, m)?;
        }

        let order = topological_order(&graph);
        let mut ranks = vec![0; graph.node_count()];
        for (rank, n) in order.iter().enumerate() {
            ranks[n.index()] = rank;
        }
        Ok(Sequence {
            graph,
            ids,
            order,
            ranks,
            start,
            model_timing: parsed.model_timing,
        })
    }

    /// What the reference model does that is no step's answer (`None`: the file says nothing,
    /// and the model predicts nothing that needs it).
    pub fn model_timing(&self) -> Option<&ModelTiming> {
        self.model_timing.as_ref()
    }

    /// The step an event of type `event` (its name) with qualities `q` reaches: the first, in
    /// rank order, with a match it meets.
    pub fn reached_by(&self, event: &str, q: &Qualities) -> Option<StepId> {
        self.steps().find(|&s| {
            self.graph[s]
                .reached_by
                .iter()
                .any(|m| m.event == event && m.admits(q))
        })
    }

    /// The step with this id.
    pub fn step_id(&self, id: &str) -> Option<StepId> {
        self.ids.get(id).copied()
    }

    /// The step `s`.
    ///
    /// # Panics
    /// If `s` is not a step of this sequence.
    pub fn step(&self, s: StepId) -> &Step {
        &self.graph[s]
    }

    /// The unique step with no predecessor.
    pub fn start(&self) -> StepId {
        self.start
    }

    /// Position of `s` in a fixed topological order (ties broken by file order).
    ///
    /// # Panics
    /// If `s` is not a step of this sequence.
    pub fn rank(&self, s: StepId) -> usize {
        self.ranks[s.index()]
    }

    /// The direct successors of `s`, sorted by rank.
    pub fn successors(&self, s: StepId) -> Vec<StepId> {
        let mut next: Vec<StepId> = self.graph.neighbors(s).collect();
        next.sort_by_key(|&n| self.rank(n));
        next
    }

    /// The steps that may come next after `s` when optional steps may be skipped: the direct
    /// successors, plus (transitively) the successors of optional ones. Sorted by rank, no dups.
    pub fn expected_after(&self, s: StepId) -> Vec<StepId> {
        let mut seen = BTreeSet::new(); // (rank, step)
        let mut todo: VecDeque<StepId> = self.graph.neighbors(s).collect();
        while let Some(n) = todo.pop_front() {
            if seen.insert((self.rank(n), n)) && self.graph[n].optional {
                todo.extend(self.graph.neighbors(n));
            }
        }
        seen.into_iter().map(|(_, n)| n).collect()
    }

    /// All steps, in rank order.
    pub fn steps(&self) -> impl Iterator<Item = StepId> + '_ {
        self.order.iter().copied()
    }

    /// The underlying graph (edges point from a step to the steps that may follow it).
    pub fn graph(&self) -> &Graph<Step, ()> {
        &self.graph
    }
}

/// Check the events that reach step `i`: at least one, each of a known type, with only the
/// qualifiers its type takes.
fn check_reached_by(
    src: &Source<'_>,
    i: usize,
    s: &StepFile,
    vocab: &Vocabulary,
) -> Result<(), LoadError> {
    let at = |path: &[Key<'_>]| {
        let mut full = vec![Key::Field("steps"), Key::Index(i), Key::Field("reached_by")];
        full.extend_from_slice(path);
        src.node(&full)
    };
    if s.reached_by.is_empty() {
        return Err(src.error(
            at(&[]),
            format!(
                "step `{}`: no event reaches it (`reached_by` is empty)",
                s.id
            ),
        ));
    }
    for (j, m) in s.reached_by.iter().enumerate() {
        let Some(def) = vocab.events.iter().find(|e| e.name == m.event) else {
            let known: Vec<&str> = vocab.events.iter().map(|e| e.name).collect();
            return Err(src.error(
                at(&[Key::Index(j), Key::Field("event")]),
                format!(
                    "step `{}`: unknown event type `{}` (known: {})",
                    s.id,
                    m.event,
                    known.join(", ")
                ),
            ));
        };
        if let Some(q) = m
            .qualifiers()
            .into_iter()
            .find(|q| !def.qualifiers.contains(q))
        {
            return Err(src.error(
                at(&[Key::Index(j), Key::Field(q)]),
                format!(
                    "step `{}`: `{}` events take no `{q}` (they take: {})",
                    s.id,
                    m.event,
                    if def.qualifiers.is_empty() {
                        "nothing".to_owned()
                    } else {
                        def.qualifiers.join(", ")
                    }
                ),
            ));
        }
    }
    Ok(())
}

/// A cycle, as its steps in edge order, starting from the lowest-index step on any cycle.
fn find_cycle(graph: &Graph<Step, ()>) -> Option<Vec<StepId>> {
    let on_cycle = petgraph::algo::tarjan_scc(graph)
        .into_iter()
        .filter(|c| c.len() > 1 || graph.contains_edge(c[0], c[0]))
        .filter_map(|c| c.into_iter().min())
        .min()?;
    // Breadth-first from `on_cycle` back to itself: the shortest cycle through it.
    let mut parent: HashMap<StepId, StepId> = HashMap::new();
    let mut todo = VecDeque::from([on_cycle]);
    while let Some(n) = todo.pop_front() {
        for m in graph.neighbors(n) {
            if m == on_cycle {
                let mut path = vec![n];
                while let Some(&p) = parent.get(path.last()?) {
                    path.push(p);
                }
                if path.last() != Some(&on_cycle) {
                    path.push(on_cycle);
                }
                path.reverse();
                return Some(path);
            }
            if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(m) {
                e.insert(n);
                todo.push_back(m);
            }
        }
    }
    Some(vec![on_cycle])
}

/// Kahn's algorithm, always taking the ready step that comes first in the file.
fn topological_order(graph: &Graph<Step, ()>) -> Vec<StepId> {
    let mut indegree: Vec<usize> = graph
        .node_indices()
        .map(|n| graph.neighbors_directed(n, Direction::Incoming).count())
        .collect();
    let mut ready: BTreeSet<StepId> = graph
        .node_indices()
        .filter(|n| indegree[n.index()] == 0)
        .collect();
    let mut order = Vec::with_capacity(graph.node_count());
    while let Some(n) = ready.pop_first() {
        order.push(n);
        for m in graph.neighbors(n) {
            indegree[m.index()] -= 1;
            if indegree[m.index()] == 0 {
                ready.insert(m);
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::vocab;
    use crate::BUILTIN_SEQUENCE;

    fn builtin() -> Sequence {
        Sequence::from_json("boot_sequence.json", BUILTIN_SEQUENCE, &vocab()).unwrap()
    }

    fn ids(seq: &Sequence, steps: Vec<StepId>) -> Vec<&str> {
        steps.into_iter().map(|s| seq.step(s).id.as_str()).collect()
    }

    #[test]
    fn builtin_sequence_loads() {
        let seq = builtin();
        assert_eq!(seq.step(seq.start()).id, "announce");
        assert_eq!(seq.graph().node_count(), 16);
        let order: Vec<_> = seq.steps().map(|s| seq.step(s).id.as_str()).collect();
        assert_eq!(
            order,
            [
                "announce",
                "voice-vlan",
                "port-auth",
                "dhcp-discover",
                "dhcp-offer",
                "dhcp-request",
                "dhcp-ack",
                "ctl",
                "itl",
                "config-tftp",
                "config-http",
                "firmware",
                "cm-connect",
                "register-sccp",
                "register-sip",
                "registered"
            ]
        );
        for (rank, s) in seq.steps().enumerate() {
            assert_eq!(seq.rank(s), rank);
        }
        let reg = seq.step(seq.step_id("registered").unwrap());
        assert!(reg.terminal && !reg.optional);
        assert_eq!(reg.stage, Stage::Registration);
        assert_eq!(reg.timeout_ms, 90_000);
        let ctl = seq.step(seq.step_id("ctl").unwrap());
        assert!(ctl.optional && ctl.stage == Stage::Config && ctl.timeout_ms == 20_000);
        assert!(seq.step_id("nope").is_none());
    }

    #[test]
    fn builtin_expected_after_skips_optional_steps() {
        let seq = builtin();
        let after = |id| ids(&seq, seq.expected_after(seq.step_id(id).unwrap()));
        assert_eq!(
            after("dhcp-ack"),
            ["ctl", "itl", "config-tftp", "config-http"]
        );
        assert_eq!(
            after("config-tftp"),
            ["firmware", "cm-connect", "register-sccp", "register-sip"]
        );
        assert_eq!(
            after("announce"),
            ["voice-vlan", "port-auth", "dhcp-discover"]
        );
        assert_eq!(after("voice-vlan"), ["port-auth", "dhcp-discover"]);
        assert_eq!(after("dhcp-discover"), ["dhcp-offer"]);
        assert_eq!(after("registered"), Vec::<&str>::new());
        let succ = |id| ids(&seq, seq.successors(seq.step_id(id).unwrap()));
        assert_eq!(succ("ctl"), ["itl", "config-tftp", "config-http"]);
        assert_eq!(
            succ("firmware"),
            ["cm-connect", "register-sccp", "register-sip"]
        );
    }

    /// Steps as (id, stage, next, extra fields), one step object per line starting at line 2.
    fn doc(steps: &[(&str, &str, &[&str], &str)]) -> String {
        let lines: Vec<String> = steps
            .iter()
            .map(|(id, stage, next, extra)| {
                let next: Vec<String> = next.iter().map(|n| format!("\"{n}\"")).collect();
                format!(
                    "  {{\"id\": \"{id}\", \"stage\": \"{stage}\", \"what\": \"w\", \"timeout_ms\": 5, \"next\": [{}]{extra}, {REACHED}}}",
                    next.join(", ")
                )
            })
            .collect();
        format!("{{\"steps\": [\n{}\n]}}\n", lines.join(",\n"))
    }

    const T: &str = ", \"terminal\": true";
    /// What reaches every step of [`doc`].
    const REACHED: &str = "\"reached_by\": [{\"event\": \"dhcp_discover\"}]";

    fn fails(text: &str, line: usize, msg: &str) -> LoadError {
        let e = Sequence::from_json("seq.json", text, &vocab()).expect_err("loaded");
        assert_eq!(e.file, "seq.json");
        assert_eq!(e.line, line, "{e}");
        assert!(e.message.contains(msg), "{e}");
        e
    }

    #[test]
    fn minimal_sequence_loads() {
        let seq = Sequence::from_json(
            "s",
            &doc(&[("a", "dhcp", &["b"], ""), ("b", "dhcp", &[], T)]),
            &vocab(),
        )
        .unwrap();
        assert_eq!(ids(&seq, seq.expected_after(seq.start())), ["b"]);
    }

    #[test]
    fn duplicate_id_points_at_the_second_step() {
        let text = doc(&[
            ("a", "dhcp", &["b"], ""),
            ("b", "dhcp", &["c"], ""),
            ("a", "dhcp", &[], ""),
            ("c", "dhcp", &[], T),
        ]);
        let e = fails(&text, 4, "duplicate step id `a` (first defined on line 2)");
        assert_eq!(e.column, 3);
    }

    #[test]
    fn bad_id_and_zero_timeout() {
        fails(
            &doc(&[("a", "dhcp", &["B_x"], ""), ("B_x", "dhcp", &[], T)]),
            3,
            "not kebab-case",
        );
        let text = doc(&[("a", "dhcp", &["b"], ""), ("b", "dhcp", &[], T)]).replace(
            "\"b\", \"stage\": \"dhcp\", \"what\": \"w\", \"timeout_ms\": 5",
            "\"b\", \"stage\": \"dhcp\", \"what\": \"w\", \"timeout_ms\": 0",
        );
        fails(&text, 3, "timeout_ms must be positive");
    }

    #[test]
    fn unknown_next_points_at_the_string() {
        let text = doc(&[("a", "dhcp", &["b", "zz"], ""), ("b", "dhcp", &[], T)]);
        let e = fails(&text, 2, "`next` names unknown step `zz`");
        let line = text.lines().nth(1).unwrap();
        assert_eq!(e.column, line.find("\"zz\"").unwrap() + 1);
    }

    #[test]
    fn next_listing_a_step_twice() {
        let text = doc(&[("a", "dhcp", &["b", "b"], ""), ("b", "dhcp", &[], T)]);
        fails(&text, 2, "lists `b` twice");
    }

    #[test]
    fn edge_to_an_earlier_stage() {
        let text = doc(&[
            ("a", "dhcp", &["b"], ""),
            ("b", "config", &["c", "a2"], ""),
            ("a2", "dhcp", &["c"], ""),
            ("c", "config", &[], T),
        ]);
        fails(
            &text,
            3,
            "step `b` (config) goes back to `a2` of the earlier stage dhcp",
        );
    }

    #[test]
    fn cycle_names_a_step_on_it() {
        let text = doc(&[
            ("s", "dhcp", &["x"], ""),
            ("x", "dhcp", &["y"], ""),
            ("y", "dhcp", &["z", "end"], ""),
            ("z", "dhcp", &["x"], ""),
            ("end", "dhcp", &[], T),
        ]);
        fails(&text, 3, "step `x` is on a cycle: x -> y -> z -> x");
        let text = doc(&[
            ("s", "dhcp", &["s2"], ""),
            ("s2", "dhcp", &["s2", "e"], ""),
            ("e", "dhcp", &[], T),
        ]);
        fails(&text, 3, "step `s2` is on a cycle: s2 -> s2");
    }

    #[test]
    fn not_exactly_one_start_step() {
        let two = doc(&[
            ("a", "dhcp", &["c"], ""),
            ("b", "dhcp", &["c"], ""),
            ("c", "dhcp", &[], T),
        ]);
        fails(
            &two,
            3,
            "more than one start step (a step no `next` names): `a` (line 2) and `b`",
        );
        let none = doc(&[("a", "dhcp", &["b"], ""), ("b", "dhcp", &["a"], T)]);
        fails(&none, 1, "no start step");
        fails("{\"steps\": []}", 1, "no steps");
    }

    #[test]
    fn unreachable_step() {
        // x and y form a loop of their own: each has a predecessor, none is reachable.
        let text = doc(&[
            ("s", "dhcp", &["e"], ""),
            ("e", "dhcp", &[], T),
            ("x", "dhcp", &["y"], ""),
            ("y", "dhcp", &["x"], ""),
        ]);
        fails(&text, 4, "step `x` is unreachable from the start step `s`");
    }

    #[test]
    fn terminal_steps() {
        fails(
            &doc(&[("a", "dhcp", &["b"], ""), ("b", "dhcp", &[], "")]),
            1,
            "no terminal step",
        );
        let dead_end = doc(&[
            ("a", "dhcp", &["b", "c"], ""),
            ("b", "dhcp", &[], T),
            ("c", "dhcp", &[], ""),
        ]);
        fails(&dead_end, 4, "step `c` has no `next` but is not terminal");
        let goes_on = doc(&[("a", "dhcp", &["b"], T), ("b", "dhcp", &[], T)]);
        fails(&goes_on, 2, "terminal step `a` has a `next`");
    }

    #[test]
    fn unknown_field_and_bad_stage_are_errors_with_lines() {
        let text = doc(&[
            ("a", "dhcp", &["b"], ", \"optinal\": true"),
            ("b", "dhcp", &[], T),
        ]);
        fails(&text, 2, "unknown field `optinal`");
        let text = doc(&[("a", "dhcp", &["b"], ""), ("b", "boot", &[], T)]);
        fails(&text, 3, "unknown variant `boot`");
        let text = "{\"steps\": [\n{\"id\": \"a\", \"stage\": \"dhcp\", \"what\": \"w\", \"timeout_ms\": 5}\n]}";
        fails(text, 2, "missing field `next`");
    }

    #[test]
    fn the_events_that_reach_a_step_are_checked() {
        let ok = doc(&[("a", "dhcp", &["b"], ""), ("b", "dhcp", &[], T)]);
        let with = |reached: &str| ok.replacen(REACHED, reached, 1);
        fails(&with("\"reached_by\": []"), 2, "no event reaches it");
        fails(
            &with("\"reached_by\": [{\"event\": \"dhcp_offr\"}]"),
            2,
            "unknown event type `dhcp_offr`",
        );
        fails(
            &with("\"reached_by\": [{\"event\": \"dhcp_offer\", \"file\": [\"ctl\"]}]"),
            2,
            "`dhcp_offer` events take no `file` (they take: nothing)",
        );
        fails(
            &with("\"reached_by\": [{\"event\": \"register\", \"via\": \"tftp\"}]"),
            2,
            "take no `via` (they take: proto, deregister)",
        );
        fails(
            &with("\"reached_by\": [{\"event\": \"register\", \"proto\": \"h323\"}]"),
            2,
            "unknown variant",
        );
        let seq = Sequence::from_json(
            "s",
            &with(
                "\"reached_by\": [{\"event\": \"file_received\", \"file\": [\"device_config\"], \"via\": \"http\"}]",
            ),
            &vocab(),
        )
        .unwrap();
        let m = &seq.step(seq.start()).reached_by[0];
        assert_eq!(m.file, [FileClass::DeviceConfig]);
        assert_eq!(
            (m.via, m.qualifiers()),
            (Some(FileVia::Http), vec!["file", "via"])
        );
    }

    #[test]
    fn the_model_timing_loads_and_is_checked_where_it_is_written() {
        let seq = builtin();
        let offer = seq.step(seq.step_id("dhcp-offer").unwrap());
        assert_eq!(offer.model_ms, Some(MsRange { lo: 2, hi: 30 }));
        assert_eq!(seq.step(seq.start()).model_ms, None);
        let m = seq.model_timing().expect("the builtin model timing");
        assert_eq!(m.between_files_ms, MsRange { lo: 50, hi: 300 });
        assert_eq!(m.sip_timer_f_ms, 32_000);
        // A step's range upside down, at its `model_ms`.
        let ok = doc(&[("a", "dhcp", &["b"], ""), ("b", "dhcp", &[], T)]);
        let text = ok.replacen(", \"next\"", ", \"model_ms\": [30, 2], \"next\"", 1);
        let e = fails(
            &text,
            2,
            "step `a`: model_ms [30, 2]: the first bound is above",
        );
        assert_eq!(
            e.column,
            text.lines().nth(1).unwrap().find("[30").unwrap() + 1
        );
        let text = ok.replacen(
            ", \"next\"",
            ", \"model_ms\": [1, 99999999999], \"next\"",
            1,
        );
        fails(&text, 2, "between 0 and a day");
        let text = ok.replacen(", \"next\"", ", \"model_ms\": [1], \"next\"", 1);
        fails(&text, 2, "invalid length 1");
        // The builtin model timing beside a sequence of one's own, then spoilt.
        let model = &BUILTIN_SEQUENCE[BUILTIN_SEQUENCE.find("  \"model_timing\"").unwrap()..];
        let with_model = |m: &str| format!("{},\n{m}", ok.trim_end().trim_end_matches('}'));
        Sequence::from_json("seq.json", &with_model(model), &vocab()).unwrap();
        let line_of =
            |text: &str, what: &str| text.lines().position(|l| l.contains(what)).unwrap() + 1;
        let bad = with_model(&model.replace("\"sip_timer_a_ms\": 500", "\"sip_timer_a_ms\": 0"));
        fails(
            &bad,
            line_of(&bad, "sip_timer_a_ms"),
            "model_timing.sip_timer_a_ms 0: must be positive",
        );
        let bad = with_model(&model.replace("[3000, 6000]", "[6000, 3000]"));
        fails(
            &bad,
            line_of(&bad, "nak_to_discover_ms"),
            "model_timing.nak_to_discover_ms [6000, 3000]",
        );
        let bad = with_model(&model.replace(
            "\"discover_retry_first_ms\": 4000",
            "\"discover_retry_first_ms\": 70000",
        ));
        fails(
            &bad,
            line_of(&bad, "discover_retry_first_ms"),
            "above discover_retry_cap_ms",
        );
        let bad = with_model(&model.replace("\"http_answer_ms\"", "\"http_anwser_ms\""));
        fails(
            &bad,
            line_of(&bad, "http_anwser_ms"),
            "unknown field `http_anwser_ms`",
        );
        let bad = with_model(&model.replace("    \"keepalive_sip_ms\": 120000,\n", ""));
        Sequence::from_json("seq.json", &bad, &vocab()).expect_err("keepalive_sip_ms is missing");
    }

    #[test]
    fn an_event_reaches_the_first_step_whose_qualifiers_it_meets() {
        let seq = builtin();
        let id =
            |event: &str, q: Qualities| seq.reached_by(event, &q).map(|s| seq.step(s).id.as_str());
        let file = |class, via| Qualities {
            file: Some(class),
            via,
            ..Qualities::default()
        };
        assert_eq!(id("dhcp_offer", Qualities::default()), Some("dhcp-offer"));
        assert_eq!(id("file_received", file(FileClass::Ctl, None)), Some("ctl"));
        assert_eq!(
            id(
                "file_received",
                file(FileClass::DeviceConfig, Some(FileVia::Http))
            ),
            Some("config-http")
        );
        // Unstated, the transport holds either match: the first is taken.
        assert_eq!(
            id("file_received", file(FileClass::DefaultConfig, None)),
            Some("config-tftp")
        );
        assert_eq!(id("file_received", file(FileClass::Other, None)), None);
        let register = |proto, deregister| Qualities {
            proto: Some(proto),
            deregister: Some(deregister),
            ..Qualities::default()
        };
        assert_eq!(
            id("register", register(Protocol::Sip, false)),
            Some("register-sip")
        );
        assert_eq!(id("register", register(Protocol::Sip, true)), None);
        let announce = |with_address| Qualities {
            with_address: Some(with_address),
            ..Qualities::default()
        };
        assert_eq!(id("phone_announce", announce(false)), Some("announce"));
        assert_eq!(id("phone_announce", announce(true)), None);
        assert_eq!(id("dhcp_nak", Qualities::default()), None);
    }

    #[test]
    fn every_builtin_step_is_reached_by_some_event() {
        let seq = builtin();
        for s in seq.steps() {
            assert!(!seq.step(s).reached_by.is_empty(), "{}", seq.step(s).id);
        }
    }
}
