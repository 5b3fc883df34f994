"""The messages processes send each other.

A message is a ZeroMQ multipart message: frame 0 is a msgpack list whose first item is the
message kind (an ``int`` from :class:`Kind`); any further frames are out-of-band buffers of
the values it carries. Values inside the header are ``[format, data, buffer_count]`` triples
(see ``serialization``), so a process that only routes a message (the node forwarding a task)
never unpickles it.

Every process has one inbox address; replies go to the sender's inbox, whose address travels in
the message. The field layout of each kind is documented next to it, in order after the kind.
"""

from __future__ import annotations

from enum import IntEnum

import msgpack

pack = msgpack.Packer(use_bin_type=True).pack


def unpack(data: bytes | memoryview) -> list:  # type: ignore[type-arg]
    """Decode a header frame (msgpack arrays become lists, bin becomes bytes)."""
    header: list = msgpack.unpackb(data, use_list=True, raw=False)  # type: ignore[type-arg]
    return header


class Kind(IntEnum):
    """Message kinds. Field order follows each comment."""

    # --- registration and control (anyone <-> node) ---
    REGISTER = 1          # role, worker_id, inbox, pid, kind   (worker/driver -> node)
    SHUTDOWN = 3          # -                                   (driver -> node, node -> worker)
    REQUEST = 4           # request_id, reply_to, verb, args    (anyone -> node)
    RESPONSE = 5          # request_id, ok, result              (node -> requester)
    # --- tasks ---
    SUBMIT_TASK = 10      # task_id, owner, code_id, code?, name, args(3), dep_refs, options
    EXECUTE_TASK = 11     # same fields as SUBMIT_TASK          (node -> worker)
    TASK_RESULT = 12      # task_id, status, returns, deps           (worker -> owner)
    TASK_FINISHED = 13    # task_id                             (worker -> node)
    TASK_BLOCKED = 14     # blocked(bool)                       (worker -> node)
    CANCEL_TASK = 15      # task_id, force                      (owner -> node -> worker)
    GENERATOR_ITEM = 16   # task_id, index, status, value(3[+stored]), deps, producer
    #                       (worker -> owner: one item of a streaming generator)
    GENERATOR_ACK = 17    # task_id, consumed        (owner -> producer: items handed out so far)
    LEASE_REQUEST = 18    # same fields as SUBMIT_TASK, for a lease: lease_id, holder, options
    #                       (caller -> node: lend me a task worker for tasks of this shape)
    LEASE_GRANTED = 19    # lease_id, worker_id, worker_inbox (None: refused), reason
    #                       (node -> holder); the holder sends EXECUTE_TASK straight to the
    #                       worker and returns the lease with TASK_FINISHED(lease_id)
    # --- actors ---
    CREATE_ACTOR = 20     # actor_id, owner, code_id, code?, class_name, args(3), deps, options
    ACTOR_PLACED = 21     # actor_id, worker_inbox, incarnation[, target_actor_id] (node -> callers)
    ACTOR_READY = 22      # actor_id, ok, error                 (worker -> node)
    ACTOR_CALL = 23       # task_id, actor_id, caller, seq, incarnation, method, num_returns,
    #                       args(3), deps[, concurrency group[, enable_task_events]]
    #                       (caller -> hosting worker; the two optional fields are the
    #                       call's .options(), absent when it set neither)
    ACTOR_DIED = 24       # actor_id, reason, restarting, error (node -> everyone concerned)
    KILL_ACTOR = 25       # actor_id, reason                    (node -> hosting worker)
    # --- objects ---
    GET_OBJECT = 30       # object_id, reply_to, store_dir      (borrower -> owner)
    OBJECT_VALUE = 31     # object_id, status, value(3)[, stored object] (owner -> borrower)
    RELEASE_OBJECT = 32   # object_id, count[, still_mapped]    (borrower -> owner)
    # --- liveness ---
    WORKER_DIED = 40      # worker_id, inbox, reason, actor_ids (node -> everyone)
    # --- cluster ---
    NODE_DIED = 41        # node_id, reason                     (head -> nodes)
    RELAY = 42            # header                              (head -> node -> its processes)
    CLUSTER_VIEW = 43     # nodes                               (head -> nodes, when one joins)
    # --- virtual actors ---
    ACTIVATE = 60         # actor_id, type_name, key, code_id, code?, options, store_url
    #                       (node -> host worker: claim the key, load its state, start)
    REMIND = 61           # actor_id, epoch, type_name, key, name, due, period
    #                       (node -> the worker hosting the activation: run this reminder)
    DEACTIVATE = 62       # actor_id, epoch, save   (node -> worker: end this activation now;
    #                       killed, or replaced by a newer one after a split brain)
    # --- observability ---
    WORKER_STATS = 50     # worker_id, stats (a msgpack map)    (worker -> node, every second)
    LOG_LINES = 51        # node_id, [[pid, origin, stream, line], ...]   (node -> drivers)


# Method name of a call cancelled before it left the caller: it still travels, to keep the
# caller's sequence numbers gap-free, but the actor skips it.
CANCELLED_CALL = "\x00cancelled"


# A return of an OK TASK_RESULT whose format has this bit set holds an error, not a value:
# the returns a generator called with num_returns=N did not yield (it raised, or ended early).
FAILED_RETURN = 0x80


class TaskStatus(IntEnum):
    """Outcome carried by TASK_RESULT and OBJECT_VALUE."""

    OK = 0
    ERROR = 1             # the value is a pickled TaskError (or other ActoriumError)
    PENDING = 2           # OBJECT_VALUE only: not ready yet, the owner will send it later
    LOST = 3              # OBJECT_VALUE only: the owner no longer has it
    ACTOR_DIED = 4        # TASK_RESULT only: the call's actor died before the call finished;
    #                       the value is the ActorDiedError. A caller with max_task_retries
    #                       resends the call to the restarted actor instead of failing it.
    MOVED = 5             # TASK_RESULT only: the call was NOT run, because the activation of
    #                       its virtual actor ended (passivated); the caller sends it on to the
    #                       next activation, so it runs exactly once.
    REQUEUE = 6           # TASK_RESULT only: a task sent on a lease was NOT run (the task
    #                       before it on that worker blocked in get()); its caller sends it
    #                       again, on another lease, using no retry.
