"""Language models (《图解大模型》 chapters 5, 9, 13): a GPT from zero, generation, training, scaling, LoRA.

    generate(model, tokenizer, prompt, ...)   text: greedy, temperature, top-k, top-p, repetition penalty
    generate_ids(model, idx, ...)             the same on token ids (B, T) → (B, T + n), KV cache on
    train_lm(model, train_ids, val_ids, ...)  the training loop: random windows, AdamW, warm-up + cosine, a time budget
    load_run(run_dir), generate_from_run(run_dir, prompt, ...)   an `lm` run's model and tokenizer; text from it
    poetry                                    the Tang poems: load_poems, quatrains, keeps_form, memorised_lines
    fit_power_law(sizes, losses)              a scaling law L = (N_c / N)^α, with a t-interval for α (`lm.scaling`)
    add_lora(model, r, alpha), merge_lora(model)   LoRA adapters (peft, or `LoRALinear`), folded back into W (`lm.lora`)

The models are in the zoo (`tujie.models.create("gpt", ...)`, `"char_lstm"`), the tokenizers in
`tujie.text` (`CharTokenizer`, `BPETokenizer(byte_level=True)`). See docs/lm.md.

Example:
    >>> from tujie.models import create
    >>> from tujie.text import CharTokenizer
    >>> tok = CharTokenizer().train(["白日依山盡，黃河入海流。"])
    >>> model = create("gpt", vocab_size=tok.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16)
    >>> len(generate(model, tok, "白日", max_new=4, seed=0)[0]) <= 4
    True
"""

from . import poetry
from .generate import generate, generate_ids
from .lora import LoRALinear, add_lora, merge_lora
from .runs import generate_from_run, load_run
from .scaling import fit_power_law
from .train import train_lm

__all__ = ["LoRALinear", "add_lora", "fit_power_law", "generate", "generate_from_run", "generate_ids", "load_run",
           "merge_lora", "poetry", "train_lm"]
