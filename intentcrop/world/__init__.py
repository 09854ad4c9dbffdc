"""A small, fully known world for measuring conditioned cropping end to end.

No pretrained vision-language weights reach an offline machine, so this package makes a world that
tiny models can really learn, with exact ground truth:

* `vocabulary`  the words: 5 shapes x 5 colours x 2 sizes, plurals, numbers, prompt templates
* `scenes`      `generate_scene(seed)`: deterministic gradient/noise/clutter backgrounds with 1-8 objects,
                one-attribute distractors, duplicates, occlusion, objects at the borders; exact masks and boxes
* `referring`   referring texts with their targets ('the small green triangle', 'two yellow stars',
                'the red circle and the blue square', 'the red circle left of the blue square'), query-image
                crops, subject masks, benchmark cases
* `tokenizer`   a CLIP BPE tokenizer over the vocabulary (vocab.json + merges.txt) and the processors
* `bench`       `intentcrop bench world`: all-in, containment, exclusion, ratio error, IoU, framed, beside
                the free-form and tight-box baselines; per method (`--method`), IoU-Mean/Max over the
                annotators' crops and Acc_1/5, Acc_1/10, SRCC, PCC against the MOS
* `annotate`    the world's taste: GAIC-style scored candidate crops (MOS 1..5 from documented rules) and
                4-8 annotators' crops per case
* `export`      `intentcrop world export --format gaicd ...`: the world in a dataset's format (EXPORTERS)

`intentcrop train world` (regenerate the tiny OWL-ViT and CLIP models from a seed) is `intentcrop.cli.world_cmd`.

The models are trained by `intentcrop.train.owlvit_world` and `intentcrop.train.clip_world`, saved with
save_pretrained in fixtures/world/{owlvit,clip}, and load like real checkpoints: `--model PATH`.
"""

from intentcrop.world.referring import (Referral, WorldCase, benchmark_cases, position_cases, position_referrals,
                                        query_crop, referrals, relation_cases, relation_referrals, subject_mask)
from intentcrop.world.scenes import Scene, WorldObject, generate_scene

__all__ = ["Referral", "Scene", "WorldCase", "WorldObject", "benchmark_cases", "generate_scene", "position_cases",
           "position_referrals", "query_crop", "referrals", "relation_cases", "relation_referrals", "subject_mask"]
