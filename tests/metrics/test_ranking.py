import math

import numpy as np
import pytest

from intentcrop.metrics import accuracy_at, correlations, gaicd_metrics, weighted_accuracy_at

# Five crops. Best first by MOS: #4 (5), #2 (4), #0 (3), #3 (2), #1 (1) -> MOS ranks 2, 4, 1, 3, 0.
MOS = [3, 1, 4, 2, 5]
# The model's order: #0, #1, #3, #4, #2 -> their MOS 3, 1, 2, 5, 4 and MOS ranks 2, 4, 3, 0, 1.
SCORES = [0.9, 0.8, 0.1, 0.7, 0.2]


@pytest.mark.parametrize(
    "n, expected",
    [
        (1, [0, 0, 0, 1 / 4]),  # only MOS 5 counts; it is 4th
        (2, [0, 0, 0, 1 / 4]),  # MOS >= 4
        (3, [1, 1 / 2, 1 / 3, 2 / 4]),  # MOS >= 3: the 1st and the 4th pick
        (5, [1, 1, 1, 1]),  # every crop is at least as good as the worst
    ],
)
def test_accuracy_by_hand(n, expected):
    np.testing.assert_allclose(accuracy_at(SCORES, MOS, ks=(1, 2, 3, 4), n=n), expected)


def test_weighted_accuracy_by_hand():
    # N = 3: hits are MOS ranks < 3, weighted exp(-(rank - ideal position) / 3) after sorting the top-K ranks.
    expected = [
        math.exp(-2 / 3),  # K=1: ranks [2]
        math.exp(-2 / 3) / 2,  # K=2: ranks [2, 4]
        math.exp(-2 / 3) / 3,  # K=3: ranks [2, 3, 4]
        (1 + math.exp(-1 / 3)) / 4,  # K=4: ranks [0, 2, 3, 4] -> rank 0 at position 0, rank 2 at position 1
    ]
    np.testing.assert_allclose(weighted_accuracy_at(SCORES, MOS, ks=(1, 2, 3, 4), n=3), expected)


def _reference_acc_wacc(scores, mos, n):
    """The definition written out with Python lists, as GAIC's TestAccuracy.py loops over it."""
    id_mos = sorted(range(len(mos)), key=lambda i: mos[i], reverse=True)
    id_out = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)
    acc, wacc = [], []
    for k in range(1, 5):
        acc.append(sum(mos[id_out[j]] >= mos[id_mos[n - 1]] for j in range(k)) / k)
        ranks = sorted(id_mos.index(id_out[j]) for j in range(k))
        wacc.append(sum(math.exp(-(r - j) / n) for j, r in enumerate(ranks) if r < n) / k)
    return acc, wacc


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n", [5, 10])
def test_vectorised_metrics_match_the_definition_with_ties(seed, n):
    rng = np.random.default_rng(seed)
    mos = list(rng.integers(1, 6, size=40).astype(float))  # many ties, as real MOS has
    scores = list(rng.integers(0, 8, size=40).astype(float))  # tied predictions too
    acc, wacc = _reference_acc_wacc(scores, mos, n)
    np.testing.assert_allclose(accuracy_at(scores, mos, n=n), acc)
    np.testing.assert_allclose(weighted_accuracy_at(scores, mos, n=n), wacc)


def test_tied_mos_counts_for_acc_but_wacc_uses_the_stable_rank():
    mos = [2, 2, 1, 1, 1]
    scores = [0, 1, 0, 0, 0]  # picks crop #1, tied with the best but ranked 2nd
    assert accuracy_at(scores, mos, ks=(1,), n=1)[0] == 1.0
    assert weighted_accuracy_at(scores, mos, ks=(1,), n=1)[0] == 0.0
    assert weighted_accuracy_at(scores, mos, ks=(1,), n=2)[0] == pytest.approx(math.exp(-1 / 2))


@pytest.mark.parametrize(
    "scores, mos, srcc, pcc",
    [
        ([1, 2, 3], [1, 2, 4], 1.0, 9 / math.sqrt(84)),
        ([3, 2, 1], [1, 2, 3], -1.0, -1.0),
        ([1, 1, 1], [1, 2, 3], math.nan, math.nan),  # constant predictions have no correlation
    ],
)
def test_correlations_by_hand(scores, mos, srcc, pcc):
    got = correlations(scores, mos)
    np.testing.assert_allclose(got, (srcc, pcc), equal_nan=True)


def test_gaicd_metrics_average_over_images_and_k():
    ranked_well = (np.arange(10.0), np.arange(10.0))
    ranked_backwards = (-np.arange(10.0), np.arange(10.0))
    out = gaicd_metrics([ranked_well, ranked_backwards], ns=(5,))
    assert out["acc1/5"] == pytest.approx(0.5)
    assert out["acc/5"] == pytest.approx(0.5)
    assert out["wacc/5"] == pytest.approx(0.5)
    assert out["srcc"] == pytest.approx(0.0)
    assert out["n"] == 2


def test_gaicd_metrics_ignore_undefined_correlations():
    out = gaicd_metrics([(np.arange(6.0), np.arange(6.0)), (np.ones(6), np.arange(6.0))], ns=(5,))
    assert out["srcc"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "scores, mos, message",
    [
        ([1, 2], [1, 2, 3], "3 MOS"),
        ([1, 2, 3], [1, 2, 3], "at least 5 crops"),
        ([1, 2, 3, 4, math.nan], [1, 2, 3, 4, 5], "finite"),
    ],
)
def test_bad_inputs_are_named(scores, mos, message):
    with pytest.raises(ValueError, match=message):
        accuracy_at(scores, mos, n=5)


def test_gaicd_metrics_need_images():
    with pytest.raises(ValueError, match="at least one image"):
        gaicd_metrics([])
