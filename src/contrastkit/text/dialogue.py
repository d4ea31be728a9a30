"""A task-oriented-dialogue (TOD) utterance set that loads offline, and SPACE-2's semantic-tree scores.

**Utterances** (:func:`tod_utterances`). Twelve dialogue acts, ``{inform, request, confirm} x {price, time,
area, phone}``, each with 15 paraphrase templates, in three domains (restaurant, hotel, taxi; three surface
nouns each) with slot values (4-5 per slot). The templates, nouns and values are **hand-written by the
contrastkit project** for this set (no external corpus; constants below, so nothing is read from disk).
Every template of an act is either a *train* or a *held-out* template (:data:`HELD_OUT_TEMPLATES` per act,
chosen once by a fixed seed), so an evaluation on held-out templates measures generalisation to unseen
phrasings, not to unseen fillers. Each utterance carries its act label text (``"inform price"``, the label a
Dialog2Flow label encoder reads) and its *semantic tree* ``{domain: {act: {slot: [values]}}}`` (nested
mappings; a ``request`` has an empty value list), the label SPACE-2 learns from.

**Tree scores** (:func:`hierarchical_set_score`, :class:`TreeScores`). SPACE-2's multi-view score of two
trees (He et al., COLING 2022, "SPACE-2: Tree-Structured Semi-Supervised Contrastive Pre-training for
Task-Oriented Dialog Understanding"; official code AlibabaResearch/DAMO-ConvAI ``space-2/space/utils/scores.py``
``hierarchical_set_score``): from each tree the 10 sets nodes D, I, S, V; edges DI, IS, SV; paths DIS, ISV,
DISV; per view the Jaccard index ``|A ∩ B| / |A ∪ B|`` (a view whose union is empty is skipped); the score is
the mean over the views not skipped; an empty tree scores 0, identical (cleaned) trees 1 (also when every
view is empty, a tree of placeholder nodes only). :class:`TreeScores`
computes the same score for blocks of a batch from multi-hot set memberships (a ``(rows, cols)`` tile callable
for the core losses, so a tree-weighted loss runs tiled without an ``N x N`` Python loop).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

ACTS = ("inform", "request", "confirm")
SLOTS = ("price", "time", "area", "phone")
LABELS = tuple(f"{act} {slot}" for act in ACTS for slot in SLOTS)  # the 12 dialogue-act label texts
DOMAINS: dict[str, tuple[str, ...]] = {
    "restaurant": ("restaurant", "place to eat", "bistro"),
    "hotel": ("hotel", "guesthouse", "place to stay"),
    "taxi": ("taxi", "cab", "car"),
}
VALUES: dict[str, tuple[str, ...]] = {
    "price": ("cheap", "expensive", "moderately priced", "affordable"),
    "time": ("7 pm", "noon", "half past eight", "9:15 in the morning", "six in the evening"),
    "area": ("north", "south", "centre", "east", "west"),
    "phone": ("01223 351880", "07700 900123", "01632 960555", "0161 496 0000"),
}

# {thing}: the domain noun; {value}: the slot value (never in a request template). Hand-written.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "inform price": (
        "I'm looking for a {value} {thing}.",
        "Something {value} would be best.",
        "I'd like a {thing} that is {value}.",
        "Can you find me a {value} {thing}?",
        "It has to be a {value} {thing}, please.",
        "I want the {thing} to be {value}.",
        "We're after a {value} {thing} tonight.",
        "Only a {value} {thing} will do.",
        "Please book me a {value} {thing}.",
        "Money matters, so a {value} {thing}.",
        "Make it {value}.",
        "I would prefer a {value} option for the {thing}.",
        "The price should be {value}.",
        "Let's go with a {value} {thing}.",
        "Find something {value} for me.",
    ),
    "request price": (
        "How much does the {thing} cost?",
        "What is the price range of the {thing}?",
        "Is the {thing} expensive?",
        "Can you tell me how pricey the {thing} is?",
        "What will the {thing} cost me?",
        "How expensive is it?",
        "What's the price of the {thing}?",
        "Do you know what the {thing} charges?",
        "How much money should I bring for the {thing}?",
        "What does it cost?",
        "Could you check the price of the {thing}?",
        "Is the {thing} cheap or expensive?",
        "What kind of prices does the {thing} have?",
        "Tell me the cost of the {thing}, please.",
        "How much is it going to be?",
    ),
    "confirm price": (
        "So the {thing} is {value}, right?",
        "Just to check, it's a {value} {thing}?",
        "You said the {thing} is {value}, correct?",
        "The {thing} is {value}, is that right?",
        "Can you confirm the {thing} is {value}?",
        "So it's {value}, yes?",
        "Am I right that the {thing} is {value}?",
        "Let me make sure: a {value} {thing}?",
        "That {thing} is {value}, isn't it?",
        "{value}, did I get that right?",
        "To confirm, we're talking about a {value} {thing}?",
        "Is it really {value}?",
        "So we agreed on a {value} {thing}?",
        "The price is {value}, you're sure?",
        "Double-checking that the {thing} is {value}.",
    ),
    "inform time": (
        "I need the {thing} at {value}.",
        "Book the {thing} for {value}.",
        "We'd like it at {value}.",
        "Around {value} works for me.",
        "Please reserve the {thing} for {value}.",
        "The {thing} should be ready by {value}.",
        "Let's say {value}.",
        "I want the {thing} at {value}, please.",
        "Can we do {value}?",
        "My plan is to be there at {value}.",
        "Schedule the {thing} for {value}.",
        "{value} would suit us best.",
        "I'll need it for {value}.",
        "Set it up for {value}, please.",
        "We are arriving at {value}.",
    ),
    "request time": (
        "What time is the {thing} available?",
        "When can I get the {thing}?",
        "What times do you have for the {thing}?",
        "When does the {thing} open?",
        "At what time would that be?",
        "How soon can the {thing} be ready?",
        "Which time slots are free for the {thing}?",
        "When is the earliest I can have the {thing}?",
        "What hours does the {thing} keep?",
        "Could you tell me the time of the booking?",
        "When should I be at the {thing}?",
        "What time does it start?",
        "Is there a time that works for the {thing}?",
        "When will it be?",
        "Tell me when the {thing} is free.",
    ),
    "confirm time": (
        "So that's {value} for the {thing}, correct?",
        "The {thing} is at {value}, right?",
        "Just to be sure, {value}?",
        "You booked the {thing} for {value}, yes?",
        "Is the time {value}?",
        "We said {value}, didn't we?",
        "Can you confirm {value} for the {thing}?",
        "So I should be there at {value}?",
        "The booking is for {value}, is that right?",
        "Let me check: {value}?",
        "Did you say {value}?",
        "Is {value} still fine for the {thing}?",
        "To confirm, the {thing} at {value}?",
        "Am I correct that it's at {value}?",
        "So {value} it is, right?",
    ),
    "inform area": (
        "I'd like a {thing} in the {value}.",
        "Somewhere in the {value} of town, please.",
        "The {thing} should be in the {value}.",
        "I'm staying in the {value}, so near there.",
        "Find me a {thing} in the {value} part of town.",
        "It needs to be in the {value}.",
        "Look in the {value} area.",
        "A {thing} around the {value} would be great.",
        "I prefer the {value} side of the city.",
        "Only the {value}, please.",
        "We want to be in the {value}.",
        "Can you search the {value} for a {thing}?",
        "My hotel is in the {value}, so close to that.",
        "Pick a {thing} in the {value}.",
        "Near the {value}, if possible.",
    ),
    "request area": (
        "Where is the {thing} located?",
        "Which part of town is the {thing} in?",
        "What area is it in?",
        "Where exactly is the {thing}?",
        "Is the {thing} close to the centre?",
        "Could you tell me the location of the {thing}?",
        "In which area would the {thing} be?",
        "Where will I find it?",
        "What's the neighbourhood of the {thing}?",
        "Which side of the city is that?",
        "Where does the {thing} pick me up?",
        "How do I find the {thing}, which area?",
        "What district is the {thing} in?",
        "Where is it, roughly?",
        "Can you say where the {thing} is?",
    ),
    "confirm area": (
        "So the {thing} is in the {value}, right?",
        "It's in the {value}, correct?",
        "Just checking, the {value} part of town?",
        "You said the {value}, didn't you?",
        "The {thing} is located in the {value}, yes?",
        "Is that in the {value}?",
        "Can you confirm it's in the {value}?",
        "So I'm heading to the {value}?",
        "Am I right that the {thing} is in the {value}?",
        "The {value}, is that right?",
        "To be sure, the {value} side of town?",
        "We're talking about the {value}, yes?",
        "Is the {thing} really in the {value}?",
        "Let me confirm: the {value} area?",
        "So it's the {value} then?",
    ),
    "inform phone": (
        "My number is {value}.",
        "You can reach me on {value}.",
        "Call me at {value}.",
        "The best number for me is {value}.",
        "Here's my phone number: {value}.",
        "Put {value} down as my contact.",
        "My mobile is {value}.",
        "Text me on {value} if anything changes.",
        "Use {value} for the {thing} booking.",
        "I can be contacted at {value}.",
        "Please note my number, {value}.",
        "Ring {value} when the {thing} is ready.",
        "My contact number is {value}.",
        "Give the {thing} the number {value}.",
        "If needed, phone {value}.",
    ),
    "request phone": (
        "What's the phone number of the {thing}?",
        "Can I have the {thing}'s number?",
        "How do I call the {thing}?",
        "Could you give me their phone number?",
        "What number should I ring?",
        "Is there a contact number for the {thing}?",
        "Can you tell me how to reach the {thing} by phone?",
        "What's their number?",
        "I need the {thing}'s phone number.",
        "How can I contact the {thing}?",
        "Do you have a number for the {thing}?",
        "Which number do I dial for the {thing}?",
        "Can you send me the phone number?",
        "What's the best number to call them on?",
        "Give me the number of the {thing}, please.",
    ),
    "confirm phone": (
        "Is the {thing}'s number {value}?",
        "So their number is {value}, right?",
        "Just to check, {value}?",
        "You said {value}, correct?",
        "The phone number is {value}, yes?",
        "Can you confirm the number is {value}?",
        "Should I call {value}?",
        "Is {value} the right number for the {thing}?",
        "Let me repeat the number: {value}?",
        "I have {value}, is that correct?",
        "So I ring {value} for the {thing}?",
        "Did you say the number was {value}?",
        "Am I right that it's {value}?",
        "To confirm, {value} is their number?",
        "The {thing} can be reached on {value}, yes?",
    ),
}

N_HELD_OUT = 5
SPLIT_SEED = 0
VIEW_NAMES = ("D", "I", "S", "V", "DI", "IS", "SV", "DIS", "ISV", "DISV")
IGNORED_NODES = ("default_domain", "default_intent")  # SPACE-2's placeholder nodes, left out of every view


def _held_out() -> dict[str, tuple[int, ...]]:
    rng = random.Random(SPLIT_SEED)
    return {label: tuple(sorted(rng.sample(range(len(TEMPLATES[label])), N_HELD_OUT))) for label in LABELS}


HELD_OUT_TEMPLATES: dict[str, tuple[int, ...]] = _held_out()


@dataclass(frozen=True)
class Utterance:
    """One user turn: ``text``, its act ``label`` text (``"inform price"``), ``act``, ``slot``, ``domain``,
    slot ``value`` (``None`` for a request), the ``template`` index within the label's templates, whether
    that template is ``held_out``, and its semantic ``tree`` ``{domain: {act: {slot: [values]}}}``."""

    text: str
    label: str
    act: str
    slot: str
    domain: str
    value: str | None
    template: int
    held_out: bool

    @property
    def label_index(self) -> int:
        """Index of ``label`` in :data:`LABELS`."""
        return LABELS.index(self.label)

    @property
    def tree(self) -> dict[str, dict[str, dict[str, list[str]]]]:
        return {self.domain: {self.act: {self.slot: [] if self.value is None else [self.value]}}}


def _fill(template: str, thing: str, value: str | None) -> str:
    text = template.replace("{thing}", thing)
    if value is not None:
        text = text.replace("{value}", value)
    text = re.sub(r"\b([Aa]) (?=[aeiou])", r"\1n ", text)  # "a expensive" -> "an expensive"
    return text[0].upper() + text[1:]


def tod_utterances(split: str = "all", *, per_template: int = 6, seed: int = 0) -> list[Utterance]:
    """The TOD utterance set: ``per_template`` utterances per template of every act (12 acts x 15 templates).

    Each utterance draws its domain, domain noun and slot value with ``random.Random(seed)`` (the same
    ``seed`` gives the same list). ``split``: ``"train"`` (the 10 train templates of each act),
    ``"held_out"`` (the 5 held-out ones, :data:`HELD_OUT_TEMPLATES`) or ``"all"``. Duplicated texts are
    kept (they are different draws of one template). Raises ``ValueError`` for an unknown ``split`` or a
    ``per_template`` below 1.
    """
    if split not in ("train", "held_out", "all"):
        raise ValueError(f"split: expected 'train', 'held_out' or 'all', got {split!r}")
    if isinstance(per_template, bool) or not isinstance(per_template, int) or per_template < 1:
        raise ValueError(f"per_template: expected an integer >= 1, got {per_template!r}")
    rng = random.Random(seed)
    out = []
    for label in LABELS:
        act, slot = label.split()
        for t, template in enumerate(TEMPLATES[label]):
            held = t in HELD_OUT_TEMPLATES[label]
            for _ in range(per_template):
                domain = rng.choice(tuple(DOMAINS))
                thing = rng.choice(DOMAINS[domain])
                value = None if act == "request" else rng.choice(VALUES[slot])
                if (split == "train" and held) or (split == "held_out" and not held):
                    continue
                out.append(Utterance(_fill(template, thing, value), label, act, slot, domain, value, t, held))
    return out


# ------------------------------------------------------------------------------------------ tree scores
def check_tree(tree: object, name: str = "tree") -> dict[str, dict[str, dict[str, list[str]]]]:
    """Validate and clean a semantic tree ``{domain: {act: {slot: [values]}}}``: every level a mapping with
    string keys, the leaves a list/tuple of values (strings, numbers, or SPACE-2's ``{"value": v}``
    mappings). Keys and values are stripped and lower-cased (as SPACE-2's ``clean_frame``). Raises
    ``TypeError`` naming ``name`` and the offending path otherwise."""
    if not isinstance(tree, Mapping):
        raise TypeError(f"{name}: expected a nested mapping {{domain: {{act: {{slot: [values]}}}}}}, "
                        f"got {type(tree).__name__}")
    clean: dict[str, dict[str, dict[str, list[str]]]] = {}
    for domain, acts in tree.items():
        if not isinstance(domain, str) or not isinstance(acts, Mapping):
            raise TypeError(f"{name}: expected {{domain (str): {{act: ...}}}}, got {domain!r}: "
                            f"{type(acts).__name__}")
        d = clean.setdefault(domain.strip().lower(), {})
        for act, slots in acts.items():
            if not isinstance(act, str) or not isinstance(slots, Mapping):
                raise TypeError(f"{name}: expected {domain!r} -> {{act (str): {{slot: [values]}}}}, got "
                                f"{act!r}: {type(slots).__name__}")
            a = d.setdefault(act.strip().lower(), {})
            for slot, values in slots.items():
                if not isinstance(slot, str) or isinstance(values, (str, bytes, Mapping)) \
                        or not isinstance(values, Sequence):
                    raise TypeError(f"{name}: expected {domain!r} -> {act!r} -> {{slot (str): [values]}}, got "
                                    f"{slot!r}: {type(values).__name__}")
                vals = a.setdefault(slot.strip().lower(), [])
                for v in values:
                    if isinstance(v, Mapping):
                        if "value" not in v:
                            raise TypeError(f"{name}: a value mapping needs a 'value' key, got {dict(v)!r} "
                                            f"under {domain!r} -> {act!r} -> {slot!r}")
                        v = v["value"]
                    if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                        raise TypeError(f"{name}: expected string or number values under {domain!r} -> {act!r} "
                                        f"-> {slot!r}, got {type(v).__name__}")
                    vals.append(str(v).strip().lower())
    return clean


def _tree_key(clean: dict[str, dict[str, dict[str, list[str]]]]) -> str:
    """An order- and repetition-free key of a cleaned tree: equal keys = equal trees as sets."""
    return repr(sorted((d, sorted((a, sorted((s, sorted(set(v))) for s, v in sl.items())) for a, sl in ac.items()))
                       for d, ac in clean.items()))


def tree_views(tree: object, name: str = "tree") -> tuple[frozenset[str], ...]:
    """The 10 sets of a tree, in :data:`VIEW_NAMES` order: nodes D, I, S, V; edges DI, IS, SV; paths DIS,
    ISV, DISV (strings joined by ``-``, as in SPACE-2's ``construct_frame_graph``). SPACE-2's placeholder
    nodes ``DEFAULT_DOMAIN`` / ``DEFAULT_INTENT`` are left out, with the edges and paths through them."""
    clean = check_tree(tree, name)
    views: list[set[str]] = [set() for _ in VIEW_NAMES]
    for d, acts in clean.items():
        keep_d = d not in IGNORED_NODES
        if keep_d:
            views[0].add(d)
        for i, slots in acts.items():
            keep_i = i not in IGNORED_NODES
            if keep_i:
                views[1].add(i)
                if keep_d:
                    views[4].add(f"{d}-{i}")
            for s, values in slots.items():
                views[2].add(s)
                if keep_i:
                    views[5].add(f"{i}-{s}")
                    if keep_d:
                        views[7].add(f"{d}-{i}-{s}")
                for v in values:
                    views[3].add(v)
                    views[6].add(f"{s}-{v}")
                    if keep_i:
                        views[8].add(f"{i}-{s}-{v}")
                        if keep_d:
                            views[9].add(f"{d}-{i}-{s}-{v}")
    return tuple(frozenset(v) for v in views)


def hierarchical_set_score(tree_a: object, tree_b: object, *, per_view: bool = False) -> float | tuple[float, ...]:
    """SPACE-2's hierarchical set score of two semantic trees (module docstring), in ``[0, 1]``.

    ``per_view=True`` returns the 10 per-view Jaccard indices (0 for a skipped view) instead of their mean.
    An empty tree (``{}``) scores 0 against anything. Raises ``TypeError`` naming ``tree_a`` / ``tree_b``
    for a tree that is not a nested mapping (:func:`check_tree`).
    """
    va, vb = tree_views(tree_a, "tree_a"), tree_views(tree_b, "tree_b")
    if not tree_a or not tree_b:
        return (0.0,) * len(VIEW_NAMES) if per_view else 0.0
    if not per_view and _tree_key(check_tree(tree_a, "tree_a")) == _tree_key(check_tree(tree_b, "tree_b")):
        # equal cleaned trees score 1 even when every view is empty (placeholder nodes only), as SPACE-2's
        # official score, which returns 1 for equal cleaned frames before building the views
        return 1.0
    scores, counted = [], []
    for a, b in zip(va, vb, strict=True):
        union = len(a | b)
        scores.append(len(a & b) / union if union else 0.0)
        counted.append(union > 0)
    if per_view:
        return tuple(scores)
    n = sum(counted)
    return sum(scores) / n if n else 0.0


class TreeScores:
    """Hierarchical set scores of a batch of trees, by blocks: ``scores(rows, cols) -> (r, c)`` float tile.

    Each view's sets become multi-hot rows ``(N, |vocabulary_v|)``; a tile's intersections are one matrix
    product per view and its unions ``|A| + |B| - |A ∩ B|``, so the tile equals
    :func:`hierarchical_set_score` pair by pair (tested) at ``O(r c sum_v |vocabulary_v|)``. The diagonal
    (a tree with itself) is 1, as in SPACE-2's score matrix, even for an empty tree. Pass the instance as a
    tile callable (``weights=``) to the core losses; :meth:`dense` gives the whole ``(N, N)`` matrix. A
    ``rows`` / ``cols`` slice outside ``0..N`` (or with a step) raises ``ValueError`` naming it.

    Args:
        trees: ``N`` semantic trees (:func:`check_tree`; ``TypeError`` names ``trees[i]``).
        dtype, device: of the tiles (default float32, CPU); ``TypeError`` for a non-floating ``dtype``.
    """

    def __init__(self, trees: Sequence[object], *, dtype: torch.dtype = torch.float32,
                 device: torch.device | str | None = None) -> None:
        if isinstance(trees, (str, bytes, Mapping)) or not isinstance(trees, Sequence) or not trees:
            raise TypeError(f"trees: expected a non-empty sequence of semantic trees, got {type(trees).__name__}")
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            # an integer dtype would round every partial score (0.6) to 0 silently
            raise TypeError(f"dtype: expected a floating torch.dtype, got {dtype!r}")
        views = [tree_views(t, f"trees[{i}]") for i, t in enumerate(trees)]
        self.n = len(views)
        self.dtype, self.device = dtype, torch.device("cpu") if device is None else torch.device(device)
        self.empty = torch.tensor([not t for t in trees], device=self.device)
        # exact-match ids: equal cleaned trees score 1 even when all their views are empty
        self.key_ids = exact_tree_match(trees).to(self.device)
        self.members: list[Tensor] = []
        for v in range(len(VIEW_NAMES)):
            vocab = {s: k for k, s in enumerate(sorted(set().union(*(row[v] for row in views))))}
            m = torch.zeros(self.n, max(len(vocab), 1), dtype=torch.float64)
            for r, row in enumerate(views):
                for s in row[v]:
                    m[r, vocab[s]] = 1.0
            self.members.append(m.to(self.device))

    def _span(self, s: slice, name: str) -> tuple[int, int]:
        start = 0 if s.start is None else s.start
        stop = self.n if s.stop is None else s.stop
        if s.step not in (None, 1) or not 0 <= start <= stop <= self.n:
            # never clip silently: a tile of the wrong size would pair the wrong trees
            raise ValueError(f"{name}: expected a contiguous slice within the {self.n} trees, got {s!r}")
        return start, stop

    def __call__(self, rows: slice, cols: slice) -> Tensor:
        r0, r1 = self._span(rows, "rows")
        c0, c1 = self._span(cols, "cols")
        total = torch.zeros(r1 - r0, c1 - c0, dtype=torch.float64, device=self.device)
        count = torch.zeros_like(total)
        for m in self.members:
            a, b = m[r0:r1], m[c0:c1]
            inter = a @ b.T
            union = a.sum(1, keepdim=True) + b.sum(1).unsqueeze(0) - inter
            seen = union > 0
            total += torch.where(seen, inter / union.clamp_min(1.0), 0.0)
            count += seen.to(total.dtype)
        score = torch.where(count > 0, total / count.clamp_min(1.0), 0.0)
        score = score.masked_fill(self.key_ids[r0:r1].unsqueeze(1) == self.key_ids[c0:c1].unsqueeze(0), 1.0)
        score = score.masked_fill(self.empty[r0:r1].unsqueeze(1) | self.empty[c0:c1].unsqueeze(0), 0.0)
        ri = torch.arange(r0, r1, device=self.device).unsqueeze(1)
        ci = torch.arange(c0, c1, device=self.device).unsqueeze(0)
        return score.masked_fill(ri == ci, 1.0).to(self.dtype)

    def dense(self) -> Tensor:
        """The whole ``(N, N)`` score matrix."""
        return self(slice(0, self.n), slice(0, self.n))

    def subset(self, index: Tensor) -> TreeScores:
        """The scores of the trees at ``index`` (``(m,)`` int64, e.g. a training batch's rows), without
        re-reading the trees. A repeated index gives identical rows (they score 1, as identical trees do)."""
        if not isinstance(index, Tensor) or index.dim() != 1 or index.dtype.is_floating_point or index.numel() == 0:
            raise ValueError(f"index: expected a non-empty (m,) integer tensor, got {getattr(index, 'shape', index)!r}")
        if int(index.min()) < 0 or int(index.max()) >= self.n:
            raise ValueError(f"index: expected rows in [0, {self.n}), got min {int(index.min())}, max "
                             f"{int(index.max())}")
        out = object.__new__(TreeScores)
        idx = index.to(self.device)
        out.n, out.dtype, out.device = int(index.numel()), self.dtype, self.device
        out.empty = self.empty[idx]
        out.key_ids = self.key_ids[idx]
        out.members = [m[idx] for m in self.members]
        return out


def exact_tree_match(trees: Sequence[object]) -> Tensor:
    """``(N,)`` int64 group ids: two trees share an id iff their cleaned trees are equal as sets (the order
    and repetition of a slot's values do not matter, as in :func:`hierarchical_set_score`, where such trees
    score 1). Hard SupCon's labels, the SPACE-2 paper's "exact match" baseline."""
    ids: dict[str, int] = {}
    out = []
    for i, t in enumerate(trees):
        out.append(ids.setdefault(_tree_key(check_tree(t, f"trees[{i}]")), len(ids)))
    return torch.tensor(out, dtype=torch.int64)


def label_texts() -> tuple[str, ...]:
    """The 12 act label texts (:data:`LABELS`), the inputs of a Dialog2Flow label encoder."""
    return LABELS


def describe() -> dict[str, Any]:
    """Counts of the set (acts, templates per act, held-out templates per act, domains, values per slot)."""
    return {"acts": len(LABELS), "templates_per_act": {k: len(v) for k, v in TEMPLATES.items()},
            "held_out_per_act": N_HELD_OUT, "domains": list(DOMAINS),
            "values_per_slot": {k: len(v) for k, v in VALUES.items()}, "split_seed": SPLIT_SEED}


__all__ = ["ACTS", "DOMAINS", "HELD_OUT_TEMPLATES", "LABELS", "SLOTS", "TEMPLATES", "TreeScores", "Utterance",
           "VALUES", "VIEW_NAMES", "check_tree", "describe", "exact_tree_match", "hierarchical_set_score",
           "label_texts", "tod_utterances", "tree_views"]
