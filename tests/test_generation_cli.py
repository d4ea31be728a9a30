"""``contrastkit generate`` on a tiny model + tokenizer saved to a local folder (local_files_only)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from contrastkit.generation import contrastive_search
from contrastkit.generation._testing import tiny_gpt2
from contrastkit.generation.cli import generate_command, generate_text, load_local

WORDS = [f"w{i}" for i in range(100)] + ["[UNK]"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("tiny-lm")
    raw = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]")
    tok.save_pretrained(path)
    tiny_gpt2(0, std=0.2).save_pretrained(path)
    return path


def test_generate_command_matches_library(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = generate_command(str(model_dir), "w5 w17 w42", "contrastive", 4, 0.6, 8)
    assert capsys.readouterr().out.startswith("w5 w17 w42")
    ids = contrastive_search(tiny_gpt2(0, std=0.2), torch.tensor([[5, 17, 42]]), max_new_tokens=8)
    assert text.split() == [WORDS[i] for i in ids[0].tolist()]
    greedy = generate_command(str(model_dir), "w5 w17 w42", "greedy", 4, 0.6, 8)
    assert greedy != text
    lm, tok = load_local(str(model_dir))
    assert len(generate_text(lm, tok, "w1 w2", "nucleus", max_new_tokens=5).split()) == 5


def test_errors(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="model"):
        generate_command(str(tmp_path / "missing"), "w1", "contrastive", 4, 0.6, 4)
    with pytest.raises(ValueError, match="strategy"):
        generate_command(str(model_dir), "w1", "beam", 4, 0.6, 4)
    with pytest.raises(ValueError, match="prompt"):
        generate_command(str(model_dir), "", "contrastive", 4, 0.6, 4)


def test_main_cli_mount(model_dir: Path) -> None:
    try:
        from typer.testing import CliRunner

        from contrastkit.cli import app
    except ImportError as err:  # the main CLI belongs to another module
        pytest.skip(f"main CLI not importable: {err}")
    res = CliRunner().invoke(app, ["generate", "--model", str(model_dir), "--prompt", "w5 w17 w42",
                                   "--strategy", "contrastive", "--top-k", "4", "--alpha", "0.6",
                                   "--max-new-tokens", "8"])
    assert res.exit_code == 0, res.output
    ids = contrastive_search(tiny_gpt2(0, std=0.2), torch.tensor([[5, 17, 42]]), max_new_tokens=8)
    assert " ".join(WORDS[i] for i in ids[0].tolist()) in res.output
