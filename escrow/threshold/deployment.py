"""An in-memory deployment of a threshold-record mode (``threshold``, and ``crumple`` built on
it): what the mode registry builds (:mod:`escrow.modes`) and the lawful-access workflow
reads (:mod:`escrow.workflow`).

:class:`CustodianDeployment` holds the pinned custodian set's hook, which every device runs,
and, in a lab run (the demo, the benchmarks, the tests), the custodians themselves, so that
:meth:`CustodianDeployment.release` can act as custodian i: :func:`escrow.release.release_share`
with that custodian's own checks. The workflow itself uses only the public side (who the
parties are, how many a recovery needs, which releases belong to this deployment).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from escrow.authorisation import AuthorisationVerifier, ReleaseAuthorisation
from escrow.custodian import Custodian
from escrow.custodian_set import CustodianSet
from escrow.errors import WorkflowError
from escrow.release import ShareRelease, release_share
from escrow.scope import ScopedRecord
from escrow.threshold.hook import ThresholdEscrow
from messaging.clock import Clock


class CustodianDeployment:
    """The hook of a pinned custodian set and, optionally, the custodians behind it."""

    def __init__(self, hook: ThresholdEscrow, custodians: Sequence[Custodian] = ()) -> None:
        if not isinstance(hook, ThresholdEscrow):
            raise TypeError("a custodian deployment needs a ThresholdEscrow hook")
        members = hook.custodian_set.members
        if custodians and tuple(c.public for c in custodians) != members:
            raise WorkflowError("the custodians given are not the members of the pinned set, "
                                "in order")
        self.hook = hook
        self.custodians = tuple(custodians)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.hook!r})"

    @property
    def mode(self) -> str:
        return self.hook.mode

    @property
    def custodian_set(self) -> CustodianSet:
        return self.hook.custodian_set

    @property
    def threshold(self) -> int:
        return self.custodian_set.threshold

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(m.custodian_id for m in self.custodian_set.members)

    def hook_for(self, address: str) -> ThresholdEscrow:
        """Every device of the deployment runs the same hook (one pinned set)."""
        return self.hook

    def screen(self, record: bytes) -> object:
        return self.hook.check_record(record)

    def admit(self, release: object) -> tuple[str, tuple[bytes, bytes]]:
        """(custodian id, (record digest, context digest)) of a share release by a member of
        the pinned set; :class:`WorkflowError` for anything else."""
        if not isinstance(release, ShareRelease):
            raise WorkflowError(f"mode {self.mode} takes custodians' share releases, not "
                                f"{type(release).__name__}")
        cset = self.custodian_set
        index = release.custodian_index
        if not (0 <= index < cset.n and cset.members[index].custodian_id
                == release.custodian_id):
            raise WorkflowError(f"{release.custodian_id} (index {index}) is not a custodian "
                                f"of {cset.describe()}")
        if (release.set_fingerprint, release.set_epoch) != (cset.fingerprint, cset.epoch):
            raise WorkflowError(f"the release of {release.custodian_id} is for another "
                                f"custodian set than {cset.describe()}")
        return release.custodian_id, (release.record_digest, release.context_digest)

    def release(self, party: int, authorisation: ReleaseAuthorisation,
                verifier: AuthorisationVerifier, scoped: Sequence[ScopedRecord],
                clock: Clock) -> list[ShareRelease]:
        """Custodian ``party``'s releases of every scoped record (its own checks first)."""
        if not 0 <= party < len(self.custodians):
            raise WorkflowError(f"this deployment holds no custodian {party}")
        custodian = self.custodians[party]
        return [release_share(custodian, self.custodian_set, authorisation, verifier,
                              item.envelope, clock) for item in scoped]


def ceremony(custodians: int, threshold: int) -> tuple[list[Custodian], CustodianSet]:
    """An in-memory key ceremony: custodians K1..Kn and their pinned set, epoch 1
    (``escrowlab escrow ceremony`` writes one to disk, :mod:`escrow.ceremony`)."""
    people = [Custodian.generate(f"K{i + 1}", f"Custodian {i + 1}", "JA")
              for i in range(custodians)]
    return people, CustodianSet(1, threshold, tuple(c.public for c in people))


def custodian_deploy(hook_class: type[ThresholdEscrow] = ThresholdEscrow
                     ) -> Callable[..., CustodianDeployment]:
    """The registry's ``deploy`` for a mode whose hook is ``hook_class``: a ceremony of
    ``custodians`` with ``threshold``, the hook built on its set."""

    def deploy(custodians: int, threshold: int) -> CustodianDeployment:
        people, cset = ceremony(custodians, threshold)
        return CustodianDeployment(hook_class(cset), people)

    return deploy
