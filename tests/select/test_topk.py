import numpy as np

from intentcrop.core.candidates import Candidates
from intentcrop.select import select_top_k


def _cands(xyxy, scores, ratio=None):
    c = Candidates.from_xyxy(np.array(xyxy, float), ratio=ratio)
    c.scores = np.array(scores, float)
    return c


def test_best_first_and_near_duplicates_skipped():
    c = _cands([[0, 0, 100, 100], [0, 0, 100, 99], [50, 50, 150, 150], [0, 0, 50, 50]], [0.9, 0.89, 0.5, 0.7])
    assert select_top_k(c, 3) == [0, 3, 2]


def test_k_per_ratio_group_in_order_of_appearance():
    c = Candidates.merge([_cands([[0, 0, 16, 9], [10, 0, 26, 9]], [0.1, 0.2], ratio=16 / 9),
                          _cands([[0, 0, 9, 9], [5, 0, 14, 9]], [0.9, 0.3], ratio=1.0)])
    assert select_top_k(c, 1) == [1, 2]


def test_fills_up_when_all_candidates_overlap():
    c = _cands([[0, 0, 100, 100], [0, 0, 100, 99]], [0.2, 0.1])
    assert select_top_k(c, 2) == [0, 1]
