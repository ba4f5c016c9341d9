from models_registry.models.aimodels import AIModel, ModelIndustryProfile, RegisteredName
from models_registry.models.catalog import CatalogVersion
from models_registry.models.dependencies import ModelDependency
from models_registry.models.industries import Industry
from models_registry.models.providers import Provider
from models_registry.models.scheduled import ScheduledChange

__all__ = [
    "AIModel",
    "CatalogVersion",
    "Industry",
    "ModelDependency",
    "ModelIndustryProfile",
    "Provider",
    "RegisteredName",
    "ScheduledChange",
]
