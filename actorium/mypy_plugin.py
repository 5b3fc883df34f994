"""The mypy plugin: what annotations alone cannot tell mypy about actors (docs/typing.md).

Enable it with one line of mypy configuration::

    [tool.mypy]
    plugins = ["actorium.mypy_plugin"]

It teaches mypy three things that no annotation can express:

* ``@remote`` (and ``@virtual``) on a class. mypy ignores what a class decorator returns, so
  ``Counter`` stays ``type[Counter]``; the plugin gives it the attributes of the
  ``ActorClass[Counter]`` (``VirtualActorClass[Counter]``) it is at run time: ``remote``,
  ``options``, ``bind`` (``get``, ``reminders``...). ``Counter(...)`` and ``Counter.incr`` are
  errors, as they are at run time.
* ``Counter.remote(...)`` is checked against ``Counter.__init__`` (also through
  ``.options(...)`` and for ``actorium.remote(Counter)``).
* An argument of ``.remote(...)`` may be the ``ObjectRef`` of a value instead of the value
  (the worker gets the value, as in Ray): each parameter ``T`` of a ``.remote()`` takes
  ``T | ObjectRef[T]``.
* ``handle.incr`` on an ``ActorHandle[Counter]`` is ``ActorMethod[P, R]`` with the parameters
  of ``Counter.incr`` and ``R`` what its ``.remote()`` returns: ``ObjectRef[T]`` for a method
  returning ``T`` (unwrapped from ``async def``), a list of refs or None as
  ``@actorium.method(num_returns=...)`` says, ``ObjectRefGenerator[T]`` for a generator
  method yielding ``T`` (sync or async; once actorium has ``ObjectRefGenerator``, issue 12).
  A name that is not a method is an error.

Nothing of actorium is imported here: mypy loads this module, and it reads actorium's
classes from mypy's own view of the program, by name.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.checker import TypeChecker
from mypy.checkmember import analyze_member_access
from mypy.errorcodes import ATTR_DEFINED, CALL_ARG
from mypy.maptype import map_instance_to_supertype
from mypy.nodes import (
    MDEF,
    CallExpr,
    Decorator,
    FuncDef,
    IntExpr,
    OverloadedFuncDef,
    RefExpr,
    StrExpr,
    SymbolTableNode,
    TypeInfo,
    Var,
)
from mypy.plugin import (
    AnalyzeTypeContext,
    AttributeContext,
    CheckerPluginInterface,
    ClassDefContext,
    FunctionContext,
    MethodContext,
    MethodSigContext,
    Plugin,
)
from mypy.typeops import type_object_type
from mypy.types import (
    AnyType,
    CallableType,
    FunctionLike,
    Instance,
    NoneType,
    Parameters,
    Type,
    TypeOfAny,
    TypeType,
    UnionType,
    get_proper_type,
)
from mypy.typevars import fill_typevars_with_any

_ACTOR = "actorium._core.actor"
ACTOR_CLASS = f"{_ACTOR}.ActorClass"
BOUND_ACTOR_CLASS = f"{_ACTOR}._BoundActorClass"
ACTOR_HANDLE = f"{_ACTOR}.ActorHandle"
ACTOR_METHOD = f"{_ACTOR}.ActorMethod"
METHOD_DECORATOR = f"{_ACTOR}.method"
OBJECT_REF = "actorium._core.ref.ObjectRef"
_STREAMS = "actorium._core.streams"
REF_GENERATOR = f"{_STREAMS}.ObjectRefGenerator"
DYNAMIC_GENERATOR = f"{_STREAMS}.DynamicObjectRefGenerator"
# What a generator's annotation may say it yields: the first type argument of these.
_YIELDING = {f"typing.{name}" for name in ("Generator", "Iterator", "Iterable",
                                             "AsyncGenerator", "AsyncIterator", "AsyncIterable")}
_TYPES = "actorium._core.remote_types"
# Ray's ActorHandle[C] | type[C], which lets pyright find the methods of C decorated with
# @actorium.method; the plugin types every method of an ActorHandle[C], so it reads it as that.
ACTOR_PROXY = f"{_TYPES}.ActorProxy"
# ``.remote()`` of these creates an actor: it takes the class's constructor parameters (the
# decorator's result TypedActorClass carries ``type[C]``, which mypy, unlike pyright, does
# not turn into the constructor's signature when binding ``self``).
_CONSTRUCTING = {f"{ACTOR_CLASS}.remote", f"{BOUND_ACTOR_CLASS}.remote",
                 f"{_TYPES}.TypedActorClass.remote", f"{_TYPES}.TypedBoundActorClass.remote"}
VIRTUAL_CLASS = "actorium._virtual.handle.VirtualActorClass"
SUPERVISOR_START = "actorium._supervision.supervisor.Supervisor.start"
# Calls whose arguments the worker resolves: a top-level ObjectRef stands for its value.
# (mypy names a method by the receiver's class: f.options(...), a RemoteFunction too, by its own.)
_SUBMITTING = {f"{_ACTOR}.ActorMethod.remote", "actorium._core.remote_function.RemoteFunction"
               ".remote", "actorium._core.remote_function._BoundFunction.remote"}
VIRTUAL_BASE = "actorium._virtual.actor.VirtualActor"
REMOTE_FUNCTION = "actorium._core.remote_function.RemoteFunction"
# ``@remote`` / ``remote(f)`` and ``@remote(option=...)``: a generator function streams.
_MAKES_FUNCTIONS = {"actorium._api.remote", "actorium.remote"}
_OPTIONS_DECORATORS = {f"actorium._core.remote_types.{name}.__call__"
                       for name in ("RemoteDecorator", "FunctionDecorator")}
# ``@actorium.method`` / ``@actorium.method(...)``: to pyright a descriptor typed for handles
# (remote_types.MethodDescriptor); the plugin types handles from the class, so to mypy the
# method stays what it is (also a static method, whose first parameter is no ``self``).
_METHOD_DECORATORS = {f"actorium._core.remote_types.{name}.__call__" for name in (
    "MethodDecorator", "StreamingMethodDecorator", "ShapedMethodDecorator")}

# Where a decorator makes a class into what (mypy names a re-exported function by its
# definition; the facade's name is listed too in case a version reports it).
_DECORATORS = {
    "actorium._api.remote": ACTOR_CLASS, "actorium.remote": ACTOR_CLASS,
    "actorium._virtual.handle.virtual": VIRTUAL_CLASS, "actorium.virtual": VIRTUAL_CLASS,
    # A twin type is a virtual actor class (actorium.twins, which types twin() as Any).
    "actorium._twins.twin.twin": VIRTUAL_CLASS, "actorium.twins.twin": VIRTUAL_CLASS,
}
# The attributes the decorated class has at run time (those of the object it became).
_WRAPPER_ATTRIBUTES = {
    ACTOR_CLASS: ("remote", "options", "bind"),
    VIRTUAL_CLASS: ("get", "options", "reminders", "cancel_reminder", "code", "type_name"),
}
_METADATA = "actorium"


class ActoriumPlugin(Plugin):
    """Types actor classes, their construction, and the methods of their handles."""

    def get_class_decorator_hook(self, fullname: str,
                                 ) -> Callable[[ClassDefContext], None] | None:
        wrapper = _DECORATORS.get(fullname)
        if wrapper is None:
            return None
        return lambda ctx: _mark_actor_class(ctx, wrapper)

    def get_class_attribute_hook(self, fullname: str,
                                 ) -> Callable[[AttributeContext], Type] | None:
        info, name = self._actor_class_member(fullname)
        if info is None:
            return None
        wrapper = info.metadata[_METADATA]["wrapper"]
        return lambda ctx: _class_attribute(ctx, info, name, wrapper)

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        if fullname in _MAKES_FUNCTIONS:
            return _remote_function
        if fullname == METHOD_DECORATOR:
            return _method_unchanged
        node = self.lookup_fully_qualified(fullname)
        if node is not None and isinstance(node.node, TypeInfo) and \
                _METADATA in node.node.metadata:
            info = node.node
            return lambda ctx: _instantiated(ctx, info)
        return None

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        if fullname in _METHOD_DECORATORS:
            return _method_unchanged
        return _remote_function if fullname in _OPTIONS_DECORATORS else None

    def get_method_signature_hook(self, fullname: str,
                                  ) -> Callable[[MethodSigContext], FunctionLike] | None:
        if fullname in _SUBMITTING:
            return _refs_for_values
        if fullname in _CONSTRUCTING:
            return _constructor_signature
        if fullname == SUPERVISOR_START:
            return _supervisor_start
        info, name = self._actor_class_member(fullname)
        if info is not None and name == "remote":
            return _constructor_signature
        return None

    def get_type_analyze_hook(self, fullname: str,
                              ) -> Callable[[AnalyzeTypeContext], Type] | None:
        return _actor_proxy if fullname == ACTOR_PROXY else None

    def get_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        # Called for every attribute of an ActorHandle (it has __getattr__), its own too.
        owner, _, name = fullname.rpartition(".")
        if owner == ACTOR_HANDLE:
            return lambda ctx: _handle_method(ctx, name)
        return None

    def _actor_class_member(self, fullname: str) -> tuple[TypeInfo | None, str]:
        owner, _, name = fullname.rpartition(".")
        node = self.lookup_fully_qualified(owner) if owner else None
        if node is not None and isinstance(node.node, TypeInfo) and \
                _METADATA in node.node.metadata:
            return node.node, name
        return None, name


# ---------------------------------------------------------------------- actor classes
def _mark_actor_class(ctx: ClassDefContext, wrapper: str) -> None:
    """Remember what the class became, and give it placeholders of the wrapper's attributes
    (mypy calls the class attribute hook only for names the class has)."""
    info = ctx.cls.info
    info.metadata[_METADATA] = {"wrapper": wrapper}
    for name in _WRAPPER_ATTRIBUTES[wrapper]:
        if name in info.names:
            continue   # the class's own (a method of its handles); the hook answers for both
        var = Var(name, AnyType(TypeOfAny.special_form))
        var.info = info
        var._fullname = f"{info.fullname}.{name}"
        var.is_classvar = True
        info.names[name] = SymbolTableNode(MDEF, var, plugin_generated=True)


def _class_attribute(ctx: AttributeContext, info: TypeInfo, name: str, wrapper: str) -> Type:
    """``Counter.remote`` is ``ActorClass[Counter].remote``; ``Counter.incr`` is an error."""
    if ctx.is_lvalue or (name.startswith("__") and name.endswith("__")):
        return ctx.default_attr_type
    if name in _WRAPPER_ATTRIBUTES[wrapper]:
        wrapped = _named(ctx.api, wrapper, [fill_typevars_with_any(info)])
        return _member(ctx, name, wrapped)
    kind = "an actor" if wrapper == ACTOR_CLASS else "a virtual actor"
    make = f"{info.name}.remote(...)" if wrapper == ACTOR_CLASS else f"{info.name}.get(key)"
    ctx.api.fail(f'"{info.name}" is {kind} class: it has no attribute "{name}" (call it on '
                 f'a handle: {make}.{name}.remote(...))', ctx.context, code=ATTR_DEFINED)
    return AnyType(TypeOfAny.from_error)


def _instantiated(ctx: FunctionContext, info: TypeInfo) -> Type:
    if info.metadata[_METADATA]["wrapper"] == ACTOR_CLASS:
        kind, how = "an actor", ".remote(...) to create an actor"
    else:
        kind, how = "a virtual actor", ".get(key) for the handle of a key's actor"
    ctx.api.fail(f'"{info.name}" is {kind} class and cannot be instantiated directly; use '
                 f"{info.name}{how}", ctx.context, code=CALL_ARG)
    return ctx.default_return_type


def _remote_function(ctx: FunctionContext | MethodContext) -> Type:
    """``@remote`` on a function: only its definition tells a generator (which streams, as
    in Ray: ``RemoteFunction[P, ObjectRefGenerator[T]]``) from a function returning an
    iterator (one ref, ``RemoteFunction[P, ObjectRef[Iterator[T]]]``); the annotations'
    overloads give a stream for ``-> Generator[...]`` and ``Any`` for ``-> Iterator[...]``."""
    made = get_proper_type(ctx.default_return_type)
    if not (isinstance(made, Instance) and made.type.fullname == REMOTE_FUNCTION and
            len(made.args) == 2):
        return ctx.default_return_type
    function: FuncDef | None = None
    if isinstance(ctx.context, Decorator):                    # @remote def f
        function = ctx.context.func
    elif ctx.args and ctx.args[0] and isinstance(ctx.args[0][0], RefExpr):   # remote(f)
        node = ctx.args[0][0].node
        function = node.func if isinstance(node, Decorator) else \
            node if isinstance(node, FuncDef) else None
    if function is None or not isinstance(function.type, CallableType):
        return ctx.default_return_type
    declared = get_proper_type(function.type.ret_type)
    if not (function.is_generator or function.is_async_generator):
        if function.is_coroutine:
            declared = get_proper_type(_unwrap_coroutine(declared))
        value = _named(ctx.api, OBJECT_REF, [declared])
        return made.copy_modified(args=[made.args[0], value])
    assert isinstance(ctx.api, TypeChecker)
    streams = ctx.api.modules.get(_STREAMS)
    if streams is None or "ObjectRefGenerator" not in streams.names:
        return ctx.default_return_type
    item: Type = AnyType(TypeOfAny.special_form)
    if isinstance(declared, Instance) and declared.type.fullname in _YIELDING and \
            declared.args:
        item = declared.args[0]
    return made.copy_modified(args=[made.args[0], _named(ctx.api, REF_GENERATOR, [item])])


def _method_unchanged(ctx: FunctionContext | MethodContext) -> Type:
    """The decorated method itself (``@actorium.method`` returns it unchanged at run time)."""
    names = ctx.callee_arg_names
    positional = bool(names) and names[0] in (None, "function", "method")  # None: "/"
    if positional and ctx.arg_types and ctx.arg_types[0]:
        return ctx.arg_types[0][0]
    return ctx.default_return_type   # method(num_returns=...): the decorator to apply


def _constructor_signature(ctx: MethodSigContext) -> FunctionLike:
    """``remote(*args: Any, **kwargs: Any) -> ActorHandle[C]`` with ``C.__init__``'s
    parameters (overloaded constructors keep the loose signature)."""
    signature = ctx.default_signature
    handle = get_proper_type(signature.ret_type)
    if not isinstance(handle, Instance) or not handle.args:
        return signature
    instance = get_proper_type(handle.args[0])
    if not isinstance(instance, Instance):
        return signature
    assert isinstance(ctx.api, TypeChecker)
    constructor = get_proper_type(type_object_type(instance.type, ctx.api.named_type))
    if not isinstance(constructor, CallableType):
        return signature
    return _refs_for_values(ctx._replace(default_signature=signature.copy_modified(
        arg_types=constructor.arg_types, arg_kinds=constructor.arg_kinds,
        arg_names=constructor.arg_names,
        variables=[*signature.variables, *constructor.variables])))


def _refs_for_values(ctx: MethodSigContext) -> FunctionLike:
    """Each parameter ``T`` also takes ``ObjectRef[T]``: the worker resolves the ref."""
    signature = ctx.default_signature
    widened = []
    for arg_type in signature.arg_types:
        proper = get_proper_type(arg_type)
        if isinstance(proper, AnyType):
            widened.append(arg_type)
        else:
            widened.append(UnionType.make_union(
                [arg_type, _named(ctx.api, OBJECT_REF, [arg_type])]))
    return signature.copy_modified(arg_types=widened)


def _supervisor_start(ctx: MethodSigContext) -> FunctionLike:
    """``Supervisor.start(Counter, ...)``: mypy sees a decorated ``Counter`` as
    ``type[Counter]``; take it for the ``ActorClass[Counter]`` it is."""
    signature = ctx.default_signature
    given = ctx.args[0][0] if ctx.args and ctx.args[0] else None
    if not (isinstance(given, RefExpr) and isinstance(given.node, TypeInfo) and
            given.node.metadata.get(_METADATA, {}).get("wrapper") == ACTOR_CLASS):
        return signature
    instance = fill_typevars_with_any(given.node)
    return signature.copy_modified(
        arg_types=[TypeType(instance), *signature.arg_types[1:]],
        ret_type=_named(ctx.api, ACTOR_HANDLE, [instance]), variables=[])


# ---------------------------------------------------------------------- handles
def _actor_proxy(ctx: AnalyzeTypeContext) -> Type:
    """``ActorProxy[C]`` is ``ActorHandle[C]`` (``ActorProxy`` alone: ``ActorHandle[Any]``)."""
    args = [ctx.api.analyze_type(arg) for arg in ctx.type.args]
    if len(args) > 1:
        ctx.api.fail(f"ActorProxy takes one type argument (the actor's class), not "
                     f"{len(args)}", ctx.context)
        return AnyType(TypeOfAny.from_error)
    handle = ctx.api.named_type(ACTOR_HANDLE, args or [AnyType(TypeOfAny.special_form)])
    return handle


def _handle_method(ctx: AttributeContext, name: str) -> Type:
    """``handle.name``: ``ActorMethod[P, R]`` from the actor class's method ``name``."""
    handle = get_proper_type(ctx.type)
    if not isinstance(handle, Instance) or ctx.is_lvalue or handle.type.get(name) is not None:
        return ctx.default_attr_type   # the handle's own (actor_id, a virtual handle's key)
    handle_info = handle.type.get_containing_type_info("__getattr__")
    if handle_info is None or handle_info.fullname != ACTOR_HANDLE:
        return ctx.default_attr_type
    mapped = map_instance_to_supertype(handle, handle_info)
    actor = get_proper_type(mapped.args[0]) if mapped.args else None
    if not isinstance(actor, Instance):
        return ctx.default_attr_type   # ActorHandle[Any] (get_actor...): nothing is known
    definition = _method_definition(actor.type, name)
    if definition is None:
        methods = ", ".join(sorted(_method_names(actor.type))) or "(none)"
        ctx.api.fail(f'Actor "{actor.type.name}" has no method "{name}" (its methods: '
                     f"{methods})", ctx.context, code=ATTR_DEFINED)
        return AnyType(TypeOfAny.from_error)
    bound = get_proper_type(_member(ctx, name, actor))
    if not isinstance(bound, CallableType):
        return ctx.default_attr_type   # overloaded: calls are not checked
    parameters = Parameters(bound.arg_types, bound.arg_kinds, bound.arg_names,
                            variables=bound.variables)
    num_returns = _num_returns(definition)
    function = definition if isinstance(definition, FuncDef) else definition.func
    if function.is_generator or function.is_async_generator:
        returned = _generator_result(ctx, bound.ret_type, num_returns)
    else:
        returned = _call_result(ctx, _unwrap_coroutine(bound.ret_type),
                                num_returns if isinstance(num_returns, int) else None)
    return _named(ctx.api, ACTOR_METHOD, [parameters, returned])


def _method_definition(info: TypeInfo, name: str) -> FuncDef | Decorator | None:
    """The method ``name`` that handles of ``info``'s actors have, as the worker sees them:
    public functions and static methods (not class methods, properties or attributes); for
    virtual actors not the base class's helpers."""
    if name.startswith("_"):
        return None
    for base in info.mro:
        if base.fullname == "builtins.object":
            return None
        node = base.names.get(name)
        if node is None or node.plugin_generated:
            continue
        if base.fullname == VIRTUAL_BASE and name != "receive_reminder":
            return None
        found = node.node
        if isinstance(found, OverloadedFuncDef):
            found = found.items[0] if found.items else None
        if isinstance(found, FuncDef) and not found.is_class and not found.is_property:
            return found
        if isinstance(found, Decorator) and not found.func.is_class and \
                not found.func.is_property and not found.var.is_property:
            return found
        return None
    return None


def _method_names(info: TypeInfo) -> set[str]:
    names = {name for base in info.mro for name in base.names}
    return {name for name in names if _method_definition(info, name) is not None}


def _num_returns(definition: FuncDef | Decorator) -> int | str | None:
    """``num_returns`` given to ``@actorium.method(...)``: 1 without it, None if not a
    literal int or str."""
    if isinstance(definition, FuncDef):
        return 1
    for decorator in definition.decorators:
        if isinstance(decorator, CallExpr) and isinstance(decorator.callee, RefExpr) and \
                decorator.callee.fullname == METHOD_DECORATOR:
            for arg_name, value in zip(decorator.arg_names, decorator.args, strict=True):
                if arg_name == "num_returns":
                    return value.value if isinstance(value, IntExpr | StrExpr) else None
    return 1


def _unwrap_coroutine(returned: Type) -> Type:
    proper = get_proper_type(returned)
    if isinstance(proper, Instance) and proper.type.fullname == "typing.Coroutine" and \
            len(proper.args) == 3:
        return proper.args[2]
    return returned


def _call_result(ctx: AttributeContext, value: Type, num_returns: int | None) -> Type:
    """What ``.remote()`` returns for a method returning ``value`` (remote_types.py)."""
    if num_returns is None or num_returns > 32:
        return AnyType(TypeOfAny.special_form)
    if num_returns == 0:
        return NoneType()
    if num_returns == 1:
        return _named(ctx.api, OBJECT_REF, [value])
    return _named(ctx.api, "builtins.list", [_named(ctx.api, OBJECT_REF,
                                                [AnyType(TypeOfAny.special_form)])])


def _generator_result(ctx: AttributeContext, returned: Type,
                      num_returns: int | str | None) -> Type:
    """What ``.remote()`` returns for a generator method: as in Ray, it streams (an
    ``ObjectRefGenerator`` of the refs of what it yields) unless ``num_returns`` says
    otherwise; ``"dynamic"`` gives the ref of a ``DynamicObjectRefGenerator``. Before
    actorium has these classes (or for another ``num_returns``) the result is ``Any``."""
    assert isinstance(ctx.api, TypeChecker)
    streams = ctx.api.modules.get(_STREAMS)
    if streams is None:
        return AnyType(TypeOfAny.special_form)
    if num_returns in (1, "streaming") and "ObjectRefGenerator" in streams.names:
        proper = get_proper_type(returned)
        item: Type = AnyType(TypeOfAny.special_form)
        if isinstance(proper, Instance) and proper.type.fullname in _YIELDING and proper.args:
            item = proper.args[0]
        return _named(ctx.api, REF_GENERATOR, [item])
    if num_returns == "dynamic" and "DynamicObjectRefGenerator" in streams.names:
        return _named(ctx.api, OBJECT_REF, [_named(ctx.api, DYNAMIC_GENERATOR, [])])
    return AnyType(TypeOfAny.special_form)


# ---------------------------------------------------------------------- helpers
def _named(api: CheckerPluginInterface, fullname: str, args: list[Type]) -> Instance:
    """``fullname[args]``, found by module (the checker's own lookup walks packages'
    namespaces, where ``actorium`` need not name ``_core``)."""
    assert isinstance(api, TypeChecker)
    module, _, name = fullname.rpartition(".")
    node = api.modules[module].names[name].node
    assert isinstance(node, TypeInfo), fullname
    return Instance(node, args)


def _member(ctx: AttributeContext, name: str, of: Type) -> Type:
    """The type of ``of.name`` as mypy would find it (bound, decorators applied)."""
    assert isinstance(ctx.api, TypeChecker)
    return analyze_member_access(name, of, ctx.context, is_lvalue=False, is_super=False,
                                 is_operator=False, original_type=of, chk=ctx.api)


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point (any mypy version with these hooks: tested with 2.4)."""
    return ActoriumPlugin
