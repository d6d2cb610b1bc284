"""Imports every model so that metadata (and Alembic) sees the whole schema."""

from .settings import Setting  # noqa: F401
from .audit.models import AuditEvent  # noqa: F401
from .auth.models import ApiToken, Role, User  # noqa: F401
from .contacts.models import Contact  # noqa: F401
from .interactions.models import Interaction, InteractionTopic, Task  # noqa: F401
from .imports.models import ImportMapping, ImportReview  # noqa: F401
from .jobs.models import Job, JobFile, ScheduleRun  # noqa: F401
from .leads.models import Lead, LeadComment, LeadEvent  # noqa: F401
from .notifications.models import Notification  # noqa: F401
from .organisations.models import (  # noqa: F401
    AccountTeamMember,
    AccountTeamRequest,
    DuplicateDismissal,
    Establishment,
    Organisation,
    OrganisationSbi,
    Tag,
)
from .programmes.models import (  # noqa: F401
    Participation,
    ParticipationEvent,
    Programme,
    ProgrammeTarget,
)
from .reference.models import Municipality, Place, SbiCode  # noqa: F401
from .valuechains.models import (  # noqa: F401
    ChainRole,
    Cluster,
    CriticalityAssessment,
    CriticalityState,
    OrganisationCluster,
    SupplyLink,
    ValueChain,
    ValueChainStage,
)
