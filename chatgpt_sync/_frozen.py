"""Frozen dataclasses made without ``exec``, for import time.

``@dataclasses.dataclass`` compiles six methods per class with ``exec`` when the class is defined;
for the package's small output classes that cost more than the rest of the package's import. A class
here writes its ``__init__`` out (checked against its fields when the class is made), and
:func:`frozen_dataclass` adds what ``@dataclass(frozen=True)`` (optionally ``slots=True``) would:
``__repr__``, ``__eq__``, ``__hash__``, the frozen ``__setattr__``/``__delattr__``,
``__match_args__``, and ``__dataclass_fields__``/``__dataclass_params__`` on first use, so
``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass`` work as before.

A leaf module: it imports nothing from the package. Type checkers are shown the real decorator::

    if TYPE_CHECKING:
        from dataclasses import dataclass, field
    else:
        from ._frozen import frozen_dataclass as dataclass, field_spec as field
"""

from __future__ import annotations

import sys
from _thread import get_ident
from operator import attrgetter
from typing import Any, Callable, Dict, Tuple, Type, TypeVar

__all__ = ["frozen_dataclass", "field_spec", "FACTORY"]


_C = TypeVar("_C", bound=type)
_MISSING: Any = object()


class _Factory:
    def __repr__(self) -> str:
        return "<factory>"


#: The default a written-out ``__init__`` gives a ``field(default_factory=...)`` field: "call the factory".
#: (Shown as ``<factory>`` in signatures, as dataclasses show theirs.)
FACTORY: Any = _Factory()


class _FieldSpec:
    """What ``dataclasses.field(...)`` says, for :func:`frozen_dataclass`."""

    __slots__ = ("default", "default_factory", "compare", "repr")

    def __init__(self, default: Any, default_factory: Any, compare: bool, repr: bool) -> None:
        self.default, self.default_factory, self.compare, self.repr = default, default_factory, compare, repr

    def field_kwargs(self) -> Dict[str, Any]:
        kwargs: Dict[str, Any] = {"compare": self.compare, "repr": self.repr}
        if self.default is not _MISSING:
            kwargs["default"] = self.default
        if self.default_factory is not _MISSING:
            kwargs["default_factory"] = self.default_factory
        return kwargs


def field_spec(*, default: Any = _MISSING, default_factory: Any = _MISSING, compare: bool = True,
                repr: bool = True) -> Any:
    return _FieldSpec(default, default_factory, compare, repr)


def _frozen_error(message: str) -> AttributeError:
    from dataclasses import FrozenInstanceError  # only on this error path; it is an AttributeError

    return FrozenInstanceError(message)


def _values_of(names: Tuple[str, ...]) -> Callable[[Any], Tuple[Any, ...]]:
    """``obj -> (obj.a, obj.b, ...)``, always a tuple (attrgetter gives a bare value for one name)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    return lambda obj: ()


class _DataclassInfo:
    """``__dataclass_fields__`` / ``__dataclass_params__`` of a :func:`frozen_dataclass` class, made
    on first use by applying the real decorator to a stand-in with the same fields."""

    def __init__(self, owner: type, specs: Tuple[Tuple[str, Any, _FieldSpec], ...], attribute: str,
                 slots: bool) -> None:
        self.owner, self.specs, self.attribute, self.slots = owner, specs, attribute, slots

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        import dataclasses

        stand_in = dataclasses.make_dataclass(
            self.owner.__name__, [(name, annotation, dataclasses.field(**spec.field_kwargs()))
                                  for name, annotation, spec in self.specs], frozen=True, slots=self.slots)
        for attribute in ("__dataclass_fields__", "__dataclass_params__"):  # replaces both descriptors
            setattr(self.owner, attribute, getattr(stand_in, attribute))
        return getattr(self.owner, self.attribute)


_repr_running: set[Tuple[int, int]] = set()


def frozen_dataclass(*, frozen: bool, slots: bool = False) -> Callable[[_C], _C]:
    """At run time, what ``@dataclass(frozen=True)`` (or ``frozen=True, slots=True``) makes of the
    class, given its written-out ``__init__``. Fields with a ``default_factory`` take :data:`FACTORY`
    as their ``__init__`` default and call the factory for it."""
    if not frozen:
        raise TypeError("only frozen dataclasses are made this way")
    return lambda cls: _make_frozen(cls, slots)


def _make_frozen(cls: _C, slots: bool) -> _C:
    own = dict(cls.__dict__)
    annotations: Dict[str, Any] = own.get("__annotations__", {})
    specs: list[Tuple[str, Any, _FieldSpec]] = []
    for name, annotation in annotations.items():
        if str(annotation).startswith(("ClassVar", "InitVar", "typing.ClassVar", "dataclasses.InitVar")):
            raise TypeError(f"{cls.__name__}.{name}: ClassVar and InitVar are not supported here")
        value = own.get(name, _MISSING)
        spec = value if isinstance(value, _FieldSpec) else _FieldSpec(value, _MISSING, True, True)
        if isinstance(value, _FieldSpec):  # as dataclass does: the class attribute is the plain default
            del own[name]
            if spec.default is not _MISSING:
                own[name] = spec.default
        specs.append((name, annotation, spec))
    fields = tuple(name for name, _, _ in specs)
    _check_init(cls, fields, tuple(FACTORY if spec.default_factory is not _MISSING else spec.default
                                   for _, _, spec in specs
                                   if spec.default is not _MISSING or spec.default_factory is not _MISSING))
    for method_name in ("__setattr__", "__delattr__"):
        if method_name in own:
            raise TypeError(f"Cannot overwrite attribute {method_name} in class {cls.__name__}")
    if slots:  # as dataclass does: a new class whose slots replace the defaults' class attributes
        if "__slots__" in own:
            raise TypeError(f"{cls.__name__} already specifies __slots__")
        for name in (*fields, "__dict__", "__weakref__"):
            own.pop(name, None)
        own["__slots__"] = fields
        qualname = cls.__qualname__
        cls = type(cls)(cls.__name__, cls.__bases__, own)
        cls.__qualname__ = qualname
    else:
        for name, _, spec in specs:
            if isinstance(cls.__dict__.get(name), _FieldSpec):
                if spec.default is _MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, spec.default)
    owner: Type[Any] = cls
    compared = _values_of(tuple(name for name, _, spec in specs if spec.compare))
    shown = tuple(name for name, _, spec in specs if spec.repr)

    def __repr__(self: Any) -> str:
        key = (id(self), get_ident())
        if key in _repr_running:  # as dataclasses' recursive_repr
            return "..."
        _repr_running.add(key)
        try:
            return f"{self.__class__.__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in shown)})"
        finally:
            _repr_running.discard(key)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(compared(self))

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is owner or name in fields:
            raise _frozen_error(f"cannot assign to field {name!r}")
        super(owner, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is owner or name in fields:
            raise _frozen_error(f"cannot delete field {name!r}")
        super(owner, self).__delattr__(name)

    def __getstate__(self: Any) -> list[Any]:  # frozen slots classes only, as dataclass adds them
        return [getattr(self, name) for name in fields]

    def __setstate__(self: Any, state: list[Any]) -> None:
        for name, value in zip(fields, state):
            object.__setattr__(self, name, value)

    methods: Dict[str, Callable[..., Any]] = {"__repr__": __repr__, "__eq__": __eq__, "__hash__": __hash__,
                                              "__setattr__": __setattr__, "__delattr__": __delattr__}
    if slots:
        methods.update(__getstate__=__getstate__, __setstate__=__setstate__)
    if sys.version_info >= (3, 13):  # copy.replace(), as dataclasses add it there
        def __replace__(self: Any, /, **changes: Any) -> Any:
            import dataclasses

            return dataclasses.replace(self, **changes)

        methods["__replace__"] = __replace__
    if "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own):
        del methods["__hash__"]  # an explicit __hash__ stays, as with dataclass
    for method_name, method in methods.items():
        if method_name in own and method_name != "__hash__":
            continue  # written in the class: kept, as dataclass keeps it
        method.__qualname__ = f"{cls.__qualname__}.{method_name}"
        setattr(cls, method_name, method)
    if "__match_args__" not in own:
        setattr(cls, "__match_args__", fields)
    for attribute in ("__dataclass_fields__", "__dataclass_params__"):
        setattr(cls, attribute, _DataclassInfo(cls, tuple(specs), attribute, slots))
    return cls


def _check_init(cls: type, fields: Tuple[str, ...], defaults: Tuple[Any, ...]) -> None:
    """The written-out ``__init__`` must take exactly the fields, in order, with their defaults."""
    init = cls.__dict__.get("__init__")
    code = getattr(init, "__code__", None)
    given = (getattr(init, "__defaults__", None) or ())
    if (code is None or code.co_varnames[1:code.co_argcount] != fields or code.co_kwonlyargcount
            or len(given) != len(defaults)
            or not all(g is d or (g is not FACTORY and d is not FACTORY and g == d)
                       for g, d in zip(given, defaults))):
        raise TypeError(f"{cls.__name__}.__init__ must take the fields {fields} with the defaults {defaults}")
    init.__annotations__["return"] = None  # as on a generated __init__ (not the string "None")
