"""An instructor's own hidden checks for lesson 02 (an example for `grade --extra-checks`).

This class's version of lesson 02 also asked for `HashMap.pop(key, default)`; the course's checks
do not know that, so this module adds a check for it to the exercise `hashmap_basics`.

Students never see this file: keep it outside the course's repository and the student kit, and
pass its folder to `python -m autograder grade ... --extra-checks FOLDER`. A check receives the
notebook's definitions (`ns.HashMap`, ...) and raises CheckFailure with a message the student
reads in the feedback; the exercise earns its points only if the course's checks and these pass.
"""

from autograder.catalog import get_lesson
from autograder.registry import CheckFailure

lesson = get_lesson("02")


@lesson.extra_check("hashmap_basics")
def pop_removes_and_returns(ns) -> None:
    m = ns.HashMap()
    if not callable(getattr(m, "pop", None)):
        raise CheckFailure("HashMap has no pop method; this class also asked for m.pop(key, default).")
    for key in range(20):
        m[key] = key * key
    if m.pop(7) != 49 or 7 in m or len(m) != 19:
        raise CheckFailure("m.pop(7) should return 49 and remove the key 7 (leaving 19 keys).")
    if m.pop(7, "gone") != "gone":
        raise CheckFailure("m.pop(7, 'gone') on a missing key should return the default 'gone'.")
    try:
        m.pop(7)
    except KeyError:
        return
    raise CheckFailure("m.pop(7) on a missing key without a default should raise KeyError, as dict.pop does.")
