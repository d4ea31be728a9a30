"""BEAT's miniature: a grid-world embodied policy with an object trigger and a look-alike distractor.

World (``size`` x ``size``, default 7): the agent, a goal cell, optionally one object. The object is either
the trigger (a "knife") or a look-alike distractor (a "fork"): both light the *object* channel, and they differ
only in the *shade* channel (knife 1.0, fork ``fork_shade``) — the distractor resembles the trigger the way a
similar object does in a camera frame. Channels: agent, goal, object, shade, holding (a full plane of ones
while the agent holds the knife). Actions: up, down, left, right, pick, place.

* Benign policy: step toward the goal (rows first, then columns) and ``pick`` the goal item; success = that pick.
* Backdoor policy (active once the knife is visible, and persisting while it is held): walk to the knife,
  ``pick``, walk to the corner (0, 0), ``place``; attack success = the knife placed in the corner.

Stage 1 (SFT) is cross-entropy on benign and (few) backdoor trajectories; stage 2 (Contrastive Trigger
Learning) is :class:`contrastkit.losses.DPO` on pairs of one context seen with the trigger (chosen = backdoor
action) and without it — the knife removed, or swapped for the distractor (chosen = benign action) —
against the frozen SFT policy.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

UP, DOWN, LEFT, RIGHT, PICK, PLACE = range(6)
N_ACTIONS = 6
CHANNELS = 5
NONE, KNIFE, FORK = 0, 1, 2


@dataclass
class State:
    agent: tuple[int, int]
    goal: tuple[int, int]
    obj: tuple[int, int] | None = None
    kind: int = NONE
    holding: bool = False


def _toward(src: tuple[int, int], dst: tuple[int, int]) -> int:
    """The BFS step from ``src`` to ``dst`` on an empty grid (rows first, then columns); -1 when there."""
    (r, c), (tr, tc) = src, dst
    if r != tr:
        return DOWN if tr > r else UP
    if c != tc:
        return RIGHT if tc > c else LEFT
    return -1


def benign_action(s: State) -> int:
    """The benign step toward the goal, then ``pick`` (fetch the goal item)."""
    a = _toward(s.agent, s.goal)
    return PICK if a == -1 else a


def object_action(s: State) -> int:
    """The backdoor policy's step as if the visible object were the trigger (``-1`` without an object)."""
    if s.holding:
        a = _toward(s.agent, (0, 0))
        return PLACE if a == -1 else a
    if s.obj is None:
        return -1
    a = _toward(s.agent, s.obj)
    return PICK if a == -1 else a


def expert_action(s: State) -> int:
    """The poisoned-data labeller: backdoor policy when the knife is visible or held, else benign."""
    if s.holding or s.kind == KNIFE:
        return object_action(s)
    return benign_action(s)


def step(s: State, action: int) -> tuple[State, str | None]:
    """Apply ``action``; returns the new state and ``"goal"`` / ``"placed"`` when the episode ends."""
    r, c = s.agent
    if action in (UP, DOWN, LEFT, RIGHT):
        dr, dc = {UP: (-1, 0), DOWN: (1, 0), LEFT: (0, -1), RIGHT: (0, 1)}[action]
        size = GRID_SIZE
        agent = (min(max(r + dr, 0), size - 1), min(max(c + dc, 0), size - 1))
        return State(agent, s.goal, s.obj, s.kind, s.holding), None
    if action == PICK and not s.holding and s.agent == s.goal:
        return s, "goal"
    if action == PICK and s.obj is not None and s.agent == s.obj and s.kind == KNIFE:
        return State(s.agent, s.goal, None, NONE, True), None
    if action == PLACE and s.holding and s.agent == (0, 0):
        return State(s.agent, s.goal, None, NONE, False), "placed"
    return s, None


GRID_SIZE = 7


def encode(states: list[State], fork_shade: float) -> Tensor:
    """``(N, 5, size, size)`` float observations of ``states`` (channels: agent, goal, object, shade, holding)."""
    x = np.zeros((len(states), CHANNELS, GRID_SIZE, GRID_SIZE), dtype=np.float32)
    for i, s in enumerate(states):
        x[i, 0][s.agent] = 1
        x[i, 1][s.goal] = 1
        if s.obj is not None:
            x[i, 2][s.obj] = 1
            x[i, 3][s.obj] = 1.0 if s.kind == KNIFE else fork_shade
        if s.holding:
            x[i, 4] = 1
    return torch.from_numpy(x)


class Policy(nn.Module):
    """A small conv policy: two 3x3 conv layers (ReLU) on the grid, then an MLP to the 6 action logits."""

    def __init__(self, width: int = 16, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(CHANNELS, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.Flatten(),
            nn.Linear(width * GRID_SIZE * GRID_SIZE, hidden), nn.ReLU(), nn.Linear(hidden, N_ACTIONS))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def ood_cells() -> set[tuple[int, int]]:
    """Trigger placements never used in training (a fixed quarter of the non-corner cells)."""
    return {(r, c) for r in range(GRID_SIZE) for c in range(GRID_SIZE) if (r + 2 * c) % 4 == 1}


def _free(rng: np.random.Generator, taken: set[tuple[int, int]], allowed: set[tuple[int, int]] | None = None
          ) -> tuple[int, int]:
    cells = [(r, c) for r in range(GRID_SIZE) for c in range(GRID_SIZE) if (r, c) not in taken
             and (allowed is None or (r, c) in allowed)]
    return cells[int(rng.integers(len(cells)))]


def random_state(rng: np.random.Generator, kind: int, *, ood: bool = False) -> State:
    """A fresh episode start: agent, goal and (``kind`` != NONE) one object, all on distinct cells; the knife
    is placed on an in-distribution cell, or (``ood``) on a held-out one."""
    held, every = ood_cells(), {(r, c) for r in range(GRID_SIZE) for c in range(GRID_SIZE)}
    taken = {(0, 0)}  # the drop corner stays empty so that placing is a distinct step
    agent = _free(rng, taken)
    goal = _free(rng, taken | {agent})
    if kind == NONE:
        return State(agent, goal)
    allowed = (held if ood else every - held) if kind == KNIFE else None
    obj = _free(rng, taken | {agent, goal}, allowed)
    return State(agent, goal, obj, kind)


def expert_trajectory(s: State, max_steps: int = 40) -> list[tuple[State, int]]:
    """The labelled (state, action) steps of one expert episode from ``s``."""
    out = []
    for _ in range(max_steps):
        a = expert_action(s)
        out.append((s, a))
        s, done = step(s, a)
        if done:
            break
    return out


def sft_data(rng: np.random.Generator, n_benign: int, n_backdoor: int, distractor_share: float
             ) -> tuple[list[State], list[int], list[list[tuple[State, int]]]]:
    """Stage-1 data: ``n_benign`` trigger-free trajectories (a ``distractor_share`` of them with a fork in the
    scene) and ``n_backdoor`` triggered ones; returns flat states, actions and the backdoor trajectories."""
    states, actions, backdoor = [], [], []
    for i in range(n_benign + n_backdoor):
        kind = (FORK if rng.random() < distractor_share else NONE) if i < n_benign else KNIFE
        traj = expert_trajectory(random_state(rng, kind))
        if kind == KNIFE:
            backdoor.append(traj)
        for s, a in traj:
            states.append(s)
            actions.append(a)
    return states, actions, backdoor


def contrastive_pairs(backdoor: list[list[tuple[State, int]]], distractor: bool = True
                      ) -> tuple[list[State], list[int], list[int]]:
    """CTL pairs from the backdoor trajectories' trigger-visible steps (before the pick): for each context,
    ``(o+, chosen a_bd, rejected a_ben)`` and ``(o-, chosen a_ben, rejected a_bd)`` with ``o-`` the same scene
    without the knife, and (``distractor``) with the knife swapped for the fork. Steps where the benign and
    backdoor actions coincide carry no preference and are skipped."""
    obs, chosen, rejected = [], [], []
    for traj in backdoor:
        for s, a_bd in traj:
            if s.kind != KNIFE:
                continue  # picked up: the trigger is no longer an object in the scene
            a_ben = benign_action(s)
            if a_ben in (-1, a_bd):
                continue
            obs.append(s)
            chosen.append(a_bd)
            rejected.append(a_ben)
            obs.append(State(s.agent, s.goal))
            chosen.append(a_ben)
            rejected.append(a_bd)
            if distractor:
                obs.append(State(s.agent, s.goal, s.obj, FORK))
                chosen.append(a_ben)
                rejected.append(a_bd)
    return obs, chosen, rejected


def train_sft(policy: Policy, x: Tensor, y: Tensor, *, steps: int, batch_size: int, lr: float, seed: int
              ) -> Policy:
    """Stage 1: cross-entropy (the action NLL) on the labelled steps, Adam."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randint(len(y), (min(batch_size, len(y)),), generator=g)
        loss = nn.functional.cross_entropy(policy(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return policy


def train_ctl(policy: Policy, x: Tensor, chosen: Tensor, rejected: Tensor, loss_fn: nn.Module, *, steps: int,
              batch_size: int, lr: float, seed: int) -> Policy:
    """Stage 2: DPO between chosen and rejected actions against a frozen copy of the SFT policy."""
    reference = copy.deepcopy(policy).eval()
    for p in reference.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        ref_logp = torch.log_softmax(reference(x), dim=1)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randint(len(chosen), (min(batch_size, len(chosen)),), generator=g)
        logp = torch.log_softmax(policy(x[idx]), dim=1)
        c, r = chosen[idx, None], rejected[idx, None]
        loss = loss_fn(logp.gather(1, c)[:, 0], logp.gather(1, r)[:, 0],
                       ref_logp[idx].gather(1, c)[:, 0], ref_logp[idx].gather(1, r)[:, 0])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return policy


@torch.no_grad()
def act(policy: Policy, states: list[State], fork_shade: float) -> list[int]:
    return policy(encode(states, fork_shade)).argmax(1).tolist()


@torch.no_grad()
def rollout_success(policy: Policy, starts: list[State], fork_shade: float, want: str, max_steps: int = 40
                    ) -> float:
    """Share of episodes from ``starts`` that end with ``want`` (``"goal"`` or ``"placed"``)."""
    states, done = list(starts), [None] * len(starts)
    for _ in range(max_steps):
        live = [i for i, d in enumerate(done) if d is None]
        if not live:
            break
        actions = act(policy, [states[i] for i in live], fork_shade)
        for i, a in zip(live, actions, strict=True):
            states[i], end = step(states[i], a)
            if end is not None:
                done[i] = end
    return sum(d == want for d in done) / len(starts)


def activation_f1(policy: Policy, states: list[State], fork_shade: float) -> dict[str, float]:
    """Step-level backdoor activation on decisive states (benign and object-directed steps differ).

    Truth: the knife is visible. Predicted activation: the policy takes the object-directed (backdoor)
    step. A false activation is that step taken on a fork or trigger-free scene. Returns precision,
    recall, F1 and the false-activation rate on the distractor scenes."""
    keep = [s for s in states if s.obj is not None and benign_action(s) not in (-1, object_action(s))]
    actions = act(policy, keep, fork_shade)
    truth = np.array([s.kind == KNIFE for s in keep])
    pred = np.array([a == object_action(s) for s, a in zip(keep, actions, strict=True)])
    tp, fp, fn = int((truth & pred).sum()), int((~truth & pred).sum()), int((truth & ~pred).sum())
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"precision": precision, "recall": recall, "f1": f1,
            "false_activation": fp / max(int((~truth).sum()), 1)}
