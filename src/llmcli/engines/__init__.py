"""Ways to schedule a task over a job's items, behind one contract (:mod:`.base`): the
local engine runs it in this process (:mod:`.local`), the Ray engine on a cluster
(:mod:`.ray`), both with the same task adapters and windows (:mod:`llmcli.runner`)."""
