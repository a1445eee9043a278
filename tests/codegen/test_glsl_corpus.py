"""The generated GLSL of every builder call and every plan is what `glsl_corpus.sha256`
recorded: a refactor that changes one program, one draw or one GL call fails here, with
the labels that differ."""

from __future__ import annotations

from tests.codegen.glsl_corpus import DIGEST_FILE, digests, read_digests


def test_every_program_matches_the_recorded_corpus():
    stored = read_digests()
    current = digests()
    changed = [label for label in current if label in stored and stored[label] != current[label]]
    new = [label for label in current if label not in stored]
    missing = [label for label in stored if label not in current]
    assert not (changed or new or missing), (
        f"{DIGEST_FILE.name}: {len(changed)} changed, {len(new)} new, {len(missing)} missing; "
        f"first: {(changed + new + missing)[:10]} (if the change is meant, rewrite it with "
        "`python -m tests.codegen.glsl_corpus --write` and say why in the commit)")
