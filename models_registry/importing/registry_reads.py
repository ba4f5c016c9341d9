"""What the registry holds already, read for a whole import in a few queries per 2,000
names: each chunk is sent as one array parameter (`= ANY(%s)` on PostgreSQL)."""

from common.batches import batched
from models_registry.folding import fold
from models_registry.models import AIModel, ModelIndustryProfile, RegisteredName
from models_registry.models.aimodels import NameKey

CHUNK = 2000


def models_named(lowered: list[str]) -> dict[str, AIModel]:
    """The models with these (lowercased) names, locked for the import, by lowercased name."""
    found = {}
    for chunk in batched(lowered, CHUNK):
        queryset = (
            AIModel.objects.select_for_update(of=("self",))
            .select_related("provider", "successor")
            .alias(name_key=NameKey("name"))
            .filter(name_key__any=chunk)
        )
        found.update({fold(model.name): model for model in queryset})
    return found


def model_named(folded: str) -> AIModel | None:
    """The model whose name folds to `folded`, with its successor, if there is one."""
    return AIModel.objects.select_related("successor").alias(name_key=NameKey("name")).filter(name_key=folded).first()


def profiles_of(models) -> dict[int, list[ModelIndustryProfile]]:
    """The stored profiles of `models`, by model id (one array parameter per chunk, where
    prefetch_related would send an IN list of every id)."""
    found: dict[int, list[ModelIndustryProfile]] = {model.pk: [] for model in models}
    for chunk in batched(list(found), CHUNK):
        for profile in ModelIndustryProfile.objects.select_related("industry").filter(model_id__any=chunk):
            found[profile.model_id].append(profile)
    return found


def name_claims(lowered: list[str]) -> dict:
    """{lowercased name or alias: (model id, model name)} for those of `lowered` held."""
    claims = {}
    for chunk in batched(lowered, CHUNK):
        claims.update(
            (name, (model_id, model_name))
            for name, model_id, model_name in RegisteredName.objects.filter(name__any=chunk).values_list(
                "name", "model_id", "model__name"
            )
        )
    return claims
