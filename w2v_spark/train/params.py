"""The kernel's hyperparameters (:class:`SgnsParams`) and counters (:class:`TrainStats`).

One frozen :class:`SgnsParams` travels with every Spark task and into every kernel call
(:func:`~w2v_spark.train.kernel.train_sentences`, :func:`~w2v_spark.train.blocks.train_pairs`);
:func:`w2v_spark.train.sync_task.sgns_params` builds it from the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Centres per Hogwild step in :func:`train_sentences` (see ``benchmarks/README.md``).
DEFAULT_STEP_TOKENS = 256
#: One step in this many computes the (only reported) loss in :func:`train_sentences`: every
#: step cost 7% of the time; 1 in 8 still averages a wiki8 epoch's loss over millions of pairs.
DEFAULT_LOSS_EVERY = 8


@dataclass(frozen=True)
class SgnsParams:
    """The word2vec hyperparameters of one training call (the name is from skip-gram with
    negative sampling, the first mode; CBOW and hierarchical softmax are switches here).

    Shared by :func:`train_sentences`, the block-rotation kernel
    (:func:`~w2v_spark.train.blocks.train_pairs`) and the Spark tasks that call them; built
    from the configuration in one place (:func:`w2v_spark.train.sync_task.sgns_params`).
    Names follow gensim and the C tool. Frozen: one object is pickled with every task.

    Attributes
    ----------
    window : int
        Maximum distance between centre and context word (default 5, gensim's and the C
        tool's). Each centre draws its effective window uniformly from ``1..window``, so near
        contexts are trained more often than far ones.
    negative : int
        Noise words drawn per (centre, context) pair (default 5, gensim's; Mikolov et al.
        2013 suggest 5-20 for small corpora, 2-5 for large ones).
    alpha : float
        Learning rate at training progress 0 (default 0.025, gensim's and the C tool's for
        skip-gram).
    min_alpha : float
        Learning rate at progress 1 (default 0.0001, gensim's); the rate falls linearly in
        between, over the whole run.
    batch_words : int
        Raw corpus words per batch (default 10,000, gensim's batch size): a batch's pairs and
        random draws are made with array operations at once, so larger batches amortise
        NumPy call overhead; sentences longer than this are cut into pieces of this size.
    step_tokens : int
        Subsampled centre tokens per Hogwild step of :func:`train_sentences` (default
        :data:`DEFAULT_STEP_TOKENS`, 256): each step's gradients are computed from the values
        before it and summed per row, so larger steps are faster but staler (a frequent
        word's row receives all its updates of the step at once); steps of a whole
        10,000-word batch diverge at alpha 0.025. Processes that share one copy of the
        weights use fewer (:data:`w2v_spark.train.sync_task.SHARED_STEP_TOKENS`).
    loss_every : int
        The loss, which is only reported, is computed on the first step and then on one step
        in every ``loss_every`` (default :data:`DEFAULT_LOSS_EVERY`, 8): computing it on every
        step cost 7% of the training time. 1 computes it on every step; the weights do not
        depend on it.
    sg : int
        1 (default): skip-gram, each centre predicts its contexts; 0: CBOW, the mean (or sum)
        of the contexts predicts the centre (:mod:`w2v_spark.train.cbow`), ``negative``
        negatives per centre. gensim's and the C tool's switch, and their names.
    cbow_mean : int
        With ``sg = 0``: 1 (default, gensim's) averages the context vectors, 0 sums them.
    hs : int
        0 (default, gensim's): negative sampling. 1: hierarchical softmax
        (:mod:`w2v_spark.train.hs`), each predicted word's Huffman path instead of negatives
        (``negative`` is then unused; the configuration requires it to be 0). The output
        matrix keeps its slot and name: with hs the ``syn1neg`` array holds ``syn1``, the
        ``V - 1`` inner nodes' vectors in rows ``0..V-2`` (row ``V - 1`` unused), so
        broadcast, copies, averaging and checkpoints are unchanged. gensim's and the C tool's
        name.
    """

    window: int = 5
    negative: int = 5
    alpha: float = 0.025
    min_alpha: float = 0.0001
    batch_words: int = 10_000
    step_tokens: int = DEFAULT_STEP_TOKENS
    loss_every: int = DEFAULT_LOSS_EVERY
    sg: int = 1
    cbow_mean: int = 1
    hs: int = 0

    def __post_init__(self) -> None:
        for name in ("batch_words", "step_tokens", "loss_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("sg", "cbow_mean", "hs"):
            if getattr(self, name) not in (0, 1):
                raise ValueError(f"{name} must be 0 or 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class TrainStats:
    """Counters of one :func:`train_sentences` call; add them to combine partitions.

    Attributes
    ----------
    raw_words : int
        Tokens seen before subsampling (drives the learning-rate schedule).
    trained_words : int
        Tokens left after subsampling.
    pairs : int
        (centre, context) pairs trained; with CBOW, centres trained (one example each).
    loss_sum : float
        Sum of ``-log σ(v_w·v'_c) - Σ_i log σ(-v_w·v'_{n_i})`` (with hs, ``-log P(c | w)``
        along the tree) with pre-step values over the pairs of the steps whose loss was
        computed (see :attr:`SgnsParams.loss_every`).
    loss_pairs : int
        How many pairs ``loss_sum`` covers.
    """

    raw_words: int = 0
    trained_words: int = 0
    pairs: int = 0
    loss_sum: float = 0.0
    loss_pairs: int = 0

    @property
    def mean_loss(self) -> float:
        """Mean loss per pair (``nan`` when no loss was computed)."""
        return self.loss_sum / self.loss_pairs if self.loss_pairs else float("nan")

    def __add__(self, other: TrainStats) -> TrainStats:
        if not isinstance(other, TrainStats):
            return NotImplemented
        return TrainStats(
            self.raw_words + other.raw_words,
            self.trained_words + other.trained_words,
            self.pairs + other.pairs,
            self.loss_sum + other.loss_sum,
            self.loss_pairs + other.loss_pairs,
        )
