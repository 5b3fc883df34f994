# Ray's "Actor Pool" guide program and the examples of ActorPool's reference, with the import
# lines of actorium. The body is Ray's API, unchanged.
import actorium as ray
from actorium.util import ActorPool


@ray.remote
class Actor:
    def double(self, n):
        return n * 2


a1, a2 = Actor.remote(), Actor.remote()
pool = ActorPool([a1, a2])

# pool.map(..) returns a Python generator object ActorPool.map
gen = pool.map(lambda a, v: a.double.remote(v), [1, 2, 3, 4])
print([v for v in gen])
# [2, 4, 6, 8]

results = pool.map_unordered(lambda a, v: a.double.remote(v), [1, 2, 3, 4])
print(set(results) == {2, 4, 6, 8})

pool.submit(lambda a, v: a.double.remote(v), 1)
pool.submit(lambda a, v: a.double.remote(v), 2)
print(pool.get_next(), pool.get_next())

pool.submit(lambda a, v: a.double.remote(v), 1)
print(pool.has_next())
print(pool.get_next())
print(pool.has_next())

pool.submit(lambda a, v: a.double.remote(v), 1)
pool.submit(lambda a, v: a.double.remote(v), 2)
results = [pool.get_next_unordered(), pool.get_next_unordered()]
print(set(results) == {2, 4})

a1 = Actor.remote()
pool = ActorPool([a1])
pool.submit(lambda a, v: a.double.remote(v), 1)
print(pool.has_free())
assert pool.pop_idle() is None
print(pool.get_next())
print(pool.has_free())
assert pool.pop_idle() == a1
pool.push(Actor.remote())
print(pool.has_free())
