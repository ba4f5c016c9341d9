from decimal import Decimal

from django.db import models

from models_registry.folding import fold


class ExactDecimalField(models.DecimalField):
    """A DecimalField stored as an integer count of its smallest unit.

    SQLite stores DECIMAL columns as floats, which keep only about 15 significant digits;
    prices need 16 (6 before the point, 10 after). A scaled integer is exact on every
    database, and compares and sorts like the decimal it stands for. Python sees Decimals.
    """

    def get_internal_type(self):
        return "BigIntegerField"

    def get_db_prep_value(self, value, connection, prepared=False):
        if hasattr(value, "as_sql"):  # an expression, compiled as it is
            return value
        value = self.to_python(value)
        if value is None:
            return None
        return int(value.scaleb(self.decimal_places).to_integral_value())

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.decimal_places)

    def stored_text(self, stored: int | None) -> str | None:
        """A stored integer as the decimal's plain text without trailing zeros ("2.5", not
        "2.5000000000"), in integer arithmetic: the list endpoint writes a thousand a page."""
        if stored is None:
            return None
        sign = "-" if stored < 0 else ""
        whole, fraction = divmod(abs(stored), 10**self.decimal_places)
        digits = f"{fraction:0{self.decimal_places}d}".rstrip("0")
        return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


class FoldedTextField(models.TextField):
    """The folded text (`models_registry.folding.fold`) of some of the row's own fields, for
    search: computed whenever the row is written by save(), bulk_create() or the importer's
    COPY (all of which ask each field for `pre_save`), never typed in.

    The fields are joined by SEPARATOR, a control character no text field may hold, so
    that a search never matches across the end of one field and the start of the next.
    """

    SEPARATOR = "\x1f"

    def __init__(self, *args, sources=(), **kwargs):
        self.sources = tuple(sources)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        # Django leaves out editable=True and blank=False, its own defaults but not this field's.
        kwargs.update(sources=self.sources, editable=self.editable, blank=self.blank)
        for key, value in (("editable", False), ("blank", True), ("default", "")):
            if kwargs.get(key, value) == value:
                kwargs.pop(key, None)
        return name, path, args, kwargs

    def folded(self, instance) -> str:
        return self.fold_values(getattr(instance, source) for source in self.sources)

    @classmethod
    def fold_values(cls, values) -> str:
        """The folded text of these values of the sources, in order (a list: each item)."""
        parts = []
        for value in values:
            parts += [str(item) for item in value] if isinstance(value, list) else [str(value or "")]
        return fold(cls.SEPARATOR.join(parts))

    def pre_save(self, model_instance, add):
        value = self.folded(model_instance)
        setattr(model_instance, self.attname, value)
        return value
