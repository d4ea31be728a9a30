"""One-seed diagnostic of SRA-CL's loss terms on ml-100k (the figures of ``papers/sra_cl/README.md``).

Trains an :class:`~contrastkit.papers.sra_cl.module.SRACL` built from the recipe for ``steps`` Adam steps at
batch 256 (126 = the recipe's 6 epochs), printing each term and the encoder-gradient norm of each *weighted*
term every 20 steps, then the validation NDCG@10 of the final state::

    OMP_NUM_THREADS=1 PYTHONPATH=src python scripts/sra_cl_term_diagnostics.py ALPHA BETA [STEPS] [ATTN_DROPOUT]

``ALPHA = BETA = 0`` is plain SASRec in the same loop. About 2-5 CPU-minutes per call.
"""

from __future__ import annotations

import sys
import time

import torch

from contrastkit.evaluate.ranking import ranking_metrics
from contrastkit.papers._seqrec import _data, _module, load_recipe, seqrec_settings


def main(alpha: float, beta: float, steps: int = 126, attention_dropout: float | None = None) -> None:
    torch.set_num_threads(1)
    s = seqrec_settings(load_recipe("sra-cl"))
    s["hyper"]["sra_cl"].update(alpha=alpha, beta=beta)
    if attention_dropout is not None:
        s["hyper"]["sra_cl"]["attention_dropout"] = attention_dropout
    data = _data(s)
    module = _module("sra_cl", data, s, 0)
    inputs, targets, users = data.train_windows("all")
    opt = torch.optim.Adam(module.parameters(), lr=s["lr"])
    gen = torch.Generator().manual_seed(0)
    params = list(module.encoder.parameters())
    weight = {"rec": 1.0, "user": alpha, "item": beta}
    start = time.time()
    for step in range(steps):
        idx = torch.randint(len(inputs), (256,), generator=gen)
        module.train()
        out = module.losses((inputs[idx], targets[idx], users[idx]))
        if step % 20 == 0 or step == steps - 1:
            msg = [f"step {step}"]
            for name in ("rec", "user", "item"):
                if name in out:
                    grads = torch.autograd.grad(weight[name] * out[name], params, retain_graph=True,
                                                allow_unused=True)
                    norm = torch.sqrt(sum((g ** 2).sum() for g in grads if g is not None))
                    msg.append(f"{name}={out[name].item():.3f} |w*grad|={norm:.3f}")
            print(" ".join(msg), flush=True)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    x, t = data.eval_inputs("valid")
    ndcg = ranking_metrics(module.full_scores(x), t - 1)["NDCG@10"]
    print(f"valid NDCG@10 {ndcg:.4f} ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(float(args[0]), float(args[1]), int(args[2]) if len(args) > 2 else 126,
         float(args[3]) if len(args) > 3 else None)
