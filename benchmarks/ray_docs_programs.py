"""The Ray Core documentation programs that ``benchmarks/ray_docs_compat.py`` measures.

Each program is one file of ``doc/source/ray-core/doc_code/`` in ray-project/ray, pinned to
the commit it is read at and to the SHA-256 of its text, so a later run measures the same
programs. Ray's code is not ours to commit: the files are fetched into a git-ignored cache.

``guide`` names the Ray Core guide a program illustrates. Issue 10 is measured over the
guides in ``CORE_GUIDES``; programs of other guides (streaming generators, runtime
environments) are run and listed too, and counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass

REPO = "ray-project/ray"
DOC_DIR = "doc/source/ray-core/doc_code"

CORE_GUIDES = ("tasks", "actors", "objects", "patterns", "anti-patterns", "fault-tolerance",
               "scheduling", "placement-groups")


@dataclass(frozen=True)
class Program:
    name: str
    guide: str
    commit: str
    sha256: str
    # Seconds per run; a few programs compute for minutes on purpose (Monte Carlo pi).
    timeout: float = 180.0
    # Why the program is not run by default (it would disturb the machine), else None.
    unsafe: str | None = None
    # Absolute paths the program writes outside its working directory (removed around runs).
    scratch: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"https://raw.githubusercontent.com/{REPO}/{self.commit}/{DOC_DIR}/{self.name}"


def _p(name: str, guide: str, commit: str, sha256: str, **extra: object) -> Program:
    return Program(name, guide, commit, sha256, **extra)  # type: ignore[arg-type]


PROGRAMS: tuple[Program, ...] = (
    _p("generator.py", "tasks", "2e6724bf9c7d50b6386d40a69bd22f26ae5a929f",
       "c502da3736c2a704c14dd2a6caf5f3b7d19aca6275dfc48568c78133c34611e5"),
    _p("getting_started.py", "tasks", "2b34ae99052beb087a007c1e78cc669f3da38be8",
       "43beda8d039a2520c654cd2e4225847ad37fab4a2b7f7683eb211f616827c6c8",
       timeout=420.0),
    _p("monte_carlo_pi.py", "tasks", "8884c7feba336634cfc919399a401e11e7514664",
       "8afbe6e4622264c9603bfe8bfe26e31fec046546f1cab23de40cc23b7e43237c",
       timeout=420.0),
    _p("nested-tasks.py", "tasks", "2df5fa75c61ed6d0bbae97fc5c885f44b187388e",
       "aa017fa5e1dc29b66ae22245f2a95daae7b24ed231642f3aa74d35606d177c00"),
    _p("tasks.py", "tasks", "190ea478c74865a35abe94e22824884d23267d0e",
       "23de62eedfc3bd465dde8b0eac7656206470a464d19ef6202e3da99d3d0c4af2"),
    _p("tasks_and_objects.py", "tasks", "07a42b24792a551c03dba2b1ae8908e29eff4b22",
       "07846f85ed80bd2a154c6e3c08d6677bec519c078ab838c74cd4ee2e6bb61f58"),
    _p("tasks_multiple_returns.py", "tasks", "4509b4818ffaa5d1b75b2be74ae28274e96b33fa",
       "c6c9e88f496219758e252a2546a70c38be85aa71003cf6ec74a1ea8f6a04f2a9"),
    _p("actor-pool.py", "actors", "52a38e8a854e605da6e6cec7274237d484777839",
       "566a794f4ddc2843c66edb8ed89c7145f10e0672f7b74f3c2ce951b34f34bf23"),
    _p("actor-queue.py", "actors", "030e489291f52472a8c0f9287997251fb3228a7f",
       "5d5103d13a8c884443743378ad6786b759ca0bd66ba602f960238789791c5c8b"),
    _p("actor-repr.py", "actors", "8884c7feba336634cfc919399a401e11e7514664",
       "60ae4ad8cc7a41943f876903703b4d84c9752f202011d1063841758c32f6e03f"),
    _p("actor-sync.py", "actors", "52a38e8a854e605da6e6cec7274237d484777839",
       "0a67ce0807519125aed9b6754193ede80abf01b9e9e4cf3de90d53685d9ffb01"),
    _p("actors.py", "actors", "1ef6f233441e4559c93cc944091f38597c739a3e",
       "ee6f53c7c1c137550af64556c1dd6177b46381760e47be44478cb81ae1ca7999"),
    _p("get_or_create.py", "actors", "1c2360f52762209c318f10abd5488d6a3d7ca86b",
       "1bfa983eaa9649a91136ec672e36b95ba820b0d480b9b21a1e9659f039db811d"),
    _p("namespaces.py", "actors", "6c6f9812ff7f12722d6345db061efe8cd3faa85b",
       "6e9a07b60689e66e49d080ba433cfa4dc643c549b41515b5232aadc5fdb78b8b",
       unsafe="runs `ray start --head` and `ray stop --force`, which stops every "
              "cluster on the machine"),
    _p("deser.py", "objects", "0957bfa0fae844715ae9c906c54e225afe8297e6",
       "2a28a082243d998ede6cc95bcd1edbf1ecc4206b7c2ba3ef382e098149ebb612"),
    _p("obj_capture.py", "objects", "dd1ad4d954cace7da5797b7fbb52246ccb58a663",
       "f4a496c53a2f8396d9905a52534f40068a1d260a8f69c866c13c8f254fc31b54"),
    _p("obj_ref.py", "objects", "058535cbe66082716dcb6b82ca479ea1425013d3",
       "70e5408a93fec802e0f43034d758a6500f6b0f9f9e5c730a51df4fb568feb074"),
    _p("obj_val.py", "objects", "058535cbe66082716dcb6b82ca479ea1425013d3",
       "cf291f7e11cabfb15ac7ed194765732893b602ee626664caf7fd3469d7a5ec8a"),
    _p("object_ref_serialization.py", "objects", "c0c6b1f90d56b3f58c2b407b7174811d3f3408b6",
       "c80631b355643332b42da4cb4c3461ff5821b9e99379963df17bb0e13421f0fd"),
    _p("limit_pending_tasks.py", "patterns", "8884c7feba336634cfc919399a401e11e7514664",
       "2b45bb60e2248ff802d6b100503e5a0a4f9f24f7c56e6cd51ef55ca63a20af84"),
    _p("limit_running_tasks.py", "patterns", "d7991c5e66af0e4c1f71cbada340a69ff03d0e6c",
       "73604c7123a867c841ac339f82f3408644c56c6d63870cfbca529fec137dd24d"),
    _p("limit_tasks.py", "patterns", "233ff92e7f0d812324315c73704c2ec1f4f34272",
       "7829cdc3721d4847349c06d2459a9ae9ec74148b4d4a490c466eb6649ec2744c"),
    _p("pattern_async_actor.py", "patterns", "28db1551b7e086af84aba88d7b9f7414f1b3e056",
       "9baea0614b995e07141df959c35903098622bf5276d91b62c2270d869cd81343"),
    _p("pattern_map_reduce.py", "patterns", "0a704816c11b6463b58c5edd82920c8d1b3b34fa",
       "aa99f255ce91fb9c557a71b95e544670490fa154393b675ed56d3cf83a505e67"),
    _p("pattern_nested_tasks.py", "patterns", "35ad25cfafae32741f34eb528f8383d7b204a21a",
       "b69bda4b1ef4452bfdcdfcc148fe7545c55e3a171aa4a5740d764e59baf41fdb",
       timeout=300.0),
    _p("pattern_pipelining.py", "patterns", "3f2bbcd2043fd775042b39f0a990fa9331e41ad8",
       "8f3a00766b3dd234f067c54a95375e001726697d9c0f08ee81ab7bb8cb7732bb"),
    _p("pattern_tree_of_actors.py", "patterns", "0718d5b02581bfef3960d8e37c4d6484f7c368f9",
       "daa854c88395e9fcf0fa59dfc8fcae5f077df05cfc43bcf4893d1816b5dd39e7"),
    _p("pattern_tree_of_tasks.py", "patterns", "042c34fdc55ddd503af84581afb425c15bf3386b",
       "0473c827f547c1d260d70a912f6703181baf6b391d492b5ca7174bb2240b46cf",
       timeout=300.0),
    _p("anti_pattern_create_new_processes.py", "anti-patterns", "741f6b4a6b9c721251f026c4ab19b5c94a041d55",
       "2f55f3157b6bc2d9d8ee8a918962b1ad9c70f3d7792d4f21e287283123512bba"),
    _p("anti_pattern_fork_new_processes.py", "anti-patterns", "ca9932e62ba1b3dd3fef86c2720b4532d5e3da45",
       "49161d2cc2086ee7aa3385e6deada2a36881bd49b99f7d2488d5f6599dd3f54f"),
    _p("anti_pattern_global_variables.py", "anti-patterns", "3e0d7f6a6e4de2b8185d0cd3c95773c60e4c4131",
       "6f9dc7bb826dec4d8309e4e82019089f8073d23bd180e28d62c8bc5ba448a81f"),
    _p("anti_pattern_nested_ray_get.py", "anti-patterns", "0ed1037ea19d9f3e755e401beb121cad71fa0200",
       "40acc9cb1738c9a572d2dddd75929bac5025fb06cac150e35d9d3d289e792bbc"),
    _p("anti_pattern_out_of_band_object_ref_serialization.py", "anti-patterns", "3d672f31c1cee36177567a46961962fbf9b8f3ba",
       "3e0424d0d82e64946720ea54753485bfc5c2701741be2a9f4ff1d27d0809c668"),
    _p("anti_pattern_out_of_band_object_ref_serialization_hex.py", "anti-patterns", "005a72ddfa080b80c37daa3059e62ad822480041",
       "80cda750b7dc55c7a53a5c2fefa56bece0e00f0afebc76a494122db4814e2d40"),
    _p("anti_pattern_pass_large_arg_by_value.py", "anti-patterns", "26d1168f94421f5f499279f72fbb9942b129784e",
       "9cc2eb8a568c1bf08b1f982aacfcdba7066b9aa5be2ea28da760ef9fb99048e4"),
    _p("anti_pattern_ray_get_loop.py", "anti-patterns", "0718d5b02581bfef3960d8e37c4d6484f7c368f9",
       "bce812afe6d019165e02668a1a0f82a36ff009eb077051abc179296ab9220f6b"),
    _p("anti_pattern_ray_get_ray_wait_async.py", "anti-patterns", "c3f1f1b68ed6b042fda66e7fa74a43ad1e71bdbd",
       "a083f3b8b19bc1d349f525d395ef3583f0401ed931bfdd2bc2bc6cbc40d0d9b9"),
    _p("anti_pattern_ray_get_too_many_objects.py", "anti-patterns", "107ab6ead96c50ff494206583e3d0a1ad6503d65",
       "1f1198b0bf19dc047d30c6693ada315aff69da48d1eb287d4a693842bb461020"),
    _p("anti_pattern_redefine_task_actor_loop.py", "anti-patterns", "1ace89f963a032aa5c88a0d0ab16dee72ec50691",
       "a8c4a661bac41fd9a858a6693924c26a90ed5318444e70828ee357b9e72ea99b"),
    _p("anti_pattern_return_ray_put.py", "anti-patterns", "2907ec3588f8558559541bc1750f3a84cc6c8c48",
       "1b87061d104129a20e92626fe90fa543dd309f41790e6fc6f98e9665a209d49c"),
    _p("anti_pattern_too_fine_grained_tasks.py", "anti-patterns", "bba87be5c0560c8228b2fd8e35663e730aa0ab0b",
       "af544d07f6580612ce4f9deb1bf4f8f3d1b5115c2ed89b70cc34f0c4a82da07c"),
    _p("anti_pattern_unnecessary_ray_get.py", "anti-patterns", "f443b4f1c3ca163e24cda9a145f03fdc9bef46a6",
       "217755bdeac416ff5a42d162add39355cc90893793d49b689da3e5b0174f2f84"),
    _p("actor_checkpointing.py", "fault-tolerance", "69739aecf56d7dc1e3ecb62513d737bce3f8dd63",
       "63a90f0380d35e1a4150d19dfbf6748354c9c8a5809196188b6b34dd5d330b8c",
       scratch=("/tmp/checkpoint.json",)),
    _p("actor_creator_failure.py", "fault-tolerance", "699c557bcfc4e03a95460abc25a76432a7ecc86e",
       "3bd67eaa26f2e2fcacc660090e3e395169184b4c852c2b32a28764547fd30953"),
    _p("actor_quarantine.py", "fault-tolerance", "1a75b4b9fa865c926011d8c2bcbece176913aa03",
       "a9a49f8803b88203e98bad93280ed36e4cbbd1a4dbd6966bb5f417a294b89967"),
    _p("actor_restart.py", "fault-tolerance", "45b4d5f6414c1a6c1630cb7cf78b641dca5f334f",
       "4ea9c0ad00444351e59d0f04c2f51c8a59a0a1d93888f30a0dd5f7b56df249fc"),
    _p("fault_tolerance_tips.py", "fault-tolerance", "2be0863bd342c1b66d8aea2687b5769cab15a3ba",
       "b342956b5b870274955cf100006affe64b9e7837ebda38623a33b6c82ae567e9"),
    _p("owners.py", "fault-tolerance", "4192d7c621516d30e87de8f1e09af710a9482c0d",
       "4469da5863bba3859690ca54c375902ca2c224478ec4bfb626a80372f97f4a82"),
    _p("task_exceptions.py", "fault-tolerance", "126d8eca8d741922edb69a554e2531144ccb4529",
       "e029dbd7a868b58b2b91a6a3eefb4b1ae108e0068388a08779ad477cf935c5e9"),
    _p("tasks_fault_tolerance.py", "fault-tolerance", "0718d5b02581bfef3960d8e37c4d6484f7c368f9",
       "0acd4b7de1471f216dcc72f4b960f040271ae872309d309a2d1dbe96f633f277"),
    _p("fraction-gpus.py", "scheduling", "3741fe0f84dcfc25f1e23b8b81ca08793aac790b",
       "e179c5277ff1b1997a9b002694a40e6e7a7eefa345a58f099c5f3c0862e0837a"),
    _p("gpus.py", "scheduling", "450f6312f116763ad9c129671c21d0d49335dea1",
       "4d13629f3386aec2094fd606af614afbc3aead83e1ed365d702ee9ad5b553863"),
    _p("resources.py", "scheduling", "88ef236571809116a4d9b843bee79a5748103ba8",
       "0196805014c17ceaeb5aba79c374618a9006d761f9a7b3f9058f771d270dcb2f"),
    _p("scheduling.py", "scheduling", "181f75bf4604b26430f2b9b820d7ce39ba8f74ad",
       "5bd6b88c726ff54dd2a89ea4b6ce0481b673a65cf5e5c6b8abb23e2a3eda76cd"),
    _p("task_locality_aware_scheduling.py", "scheduling", "32452f97ba120882ac6c3bbcaf6c5d07ed78e0c3",
       "d89284c5d1e55cb9dc0ed083eea09892156bd84f79f461f4a387c66ec759fef6"),
    _p("original_resource_unavailable_example.py", "placement-groups", "3877830d8a90d949b149eb56b7728233d1660f21",
       "a2782ac0936854e15cdd91d07c1a296937c16bcb62c34168f14da7191a84ffe9"),
    _p("placement_group_capture_child_tasks_example.py", "placement-groups", "1e5f377345797b02ebb289dbe781192e044e57bd",
       "0b3f7fdae2321fc7f0f69ee2afa0be69fa929ecb0fa0c248a3bb128bcc260c8a"),
    _p("placement_group_example.py", "placement-groups", "08e52aa9037aa0d2ddedc1fb53328746c1260bff",
       "c32fd9bf3992bef0cda8216dfae24456d1aeddd3c9ae4e4811ea3576934c8ce5"),
    _p("streaming_generator.py", "streaming", "041cfaf669d45ebdb28b3261edcd933acbcad97f",
       "e38696236fcff24059113da9aac5e75e4dc544d1acb0eb11a1cfb59e1f7705a8"),
    _p("gotchas.py", "runtime-env", "874d78917c531ce0ee14b25c0dca893f89f9b6d6",
       "685fd5a46818e7a9eedc2a4dfc3bb2c77e40c22370b8283e64a1edba4cbf0a6f"),
)
