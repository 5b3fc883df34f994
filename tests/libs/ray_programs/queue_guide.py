# Ray's "Message passing using Ray Queue" programs and Queue's reference example, with the
# import lines of actorium. The body is Ray's API, unchanged.
import actorium as ray
from actorium.util.queue import Empty, Queue

ray.init()
# You can pass this object around to different tasks/actors
queue = Queue(maxsize=100)


@ray.remote
def consumer(id, queue):
    try:
        while True:
            next_item = queue.get(block=True, timeout=1)
            print(f"consumer {id} got work {next_item}")
    except Empty:
        pass


[queue.put(i) for i in range(10)]
print("Put work 1 - 10 to queue...")

consumers = [consumer.remote(id, queue) for id in range(2)]
ray.get(consumers)
print("queue empty:", queue.empty())

q = Queue()
items = list(range(10))
for item in items:
    q.put(item)
for item in items:
    assert item == q.get()
# Create Queue with the underlying actor reserving 1 CPU.
q = Queue(actor_options={"num_cpus": 1})
q.put_nowait_batch([1, 2, 3])
print(q.get_nowait_batch(2), q.qsize())
q.shutdown()


@ray.remote
def get_one(queue):
    next_item = queue.get(block=True)
    return next_item


queue = Queue(maxsize=100)
waiting = [get_one.remote(queue) for _ in range(2)]
[queue.put(i) for i in range(10)]
print(sorted(ray.get(waiting)), queue.qsize())
