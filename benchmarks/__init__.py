"""Speed and memory harness (not part of the installed package).

- :mod:`benchmarks.losses`: contrastive-loss benchmark, ``python -m benchmarks.losses --json FILE``;
- :mod:`benchmarks.impls`: the implementations it compares (contrastkit, naive, peers, GEMM floor);
- :mod:`benchmarks.worker`: the child process that measures one or more cases;
- :mod:`benchmarks.report`: JSON -> markdown table and PNG plot;
- :mod:`benchmarks.naive`: the naive dense reference losses and the three-GEMM floor.
"""
