-- Filtered and sorted listing: open tasks of some priorities (and sometimes a tag), by due date, 20 per page.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local filters = {
  "status=open&priority=high,urgent&sort=due",
  "status=open,in_progress&priority=medium,high&sort=due&order=desc",
  "status=open&tags=work,home&sort=priority",
  "status=open&has_due=true&sort=due",
}
request = function()
  local path = "/api/v1/tasks?" .. filters[math.random(#filters)] .. "&limit=20"
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token() })
end
