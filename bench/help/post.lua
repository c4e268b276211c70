-- post.lua: wrk script sending `help` the way Mattermost sends a slash
-- command: POST, application/x-www-form-urlencoded body with the keys in
-- Go's url.Values.Encode() order (sorted), '+' for spaces, Authorization:
-- Token, Accept: application/json, Mattermost's User-Agent. Each request
-- gets its own trigger_id, as each real command does.
--
-- Environment: BENCH_TOKEN (the command token), BENCH_TEAM_ID,
-- BENCH_USER_ID. wrk keeps connections alive (HTTP/1.1) by default.

local token = os.getenv("BENCH_TOKEN") or "okwexkjpe7ygb8eq1ww58t483w"
local team_id = os.getenv("BENCH_TEAM_ID") or "carya1qs77bemjup96ff538snh"
local user_id = os.getenv("BENCH_USER_ID") or "aoa1agao6t8fmx3ikt1j9w5ybw"
local counter = 0
thread_tag = "t" -- set per thread by setup()

function setup(thread)
  thread:set("thread_tag", "t" .. tostring(math.random(100000, 999999)))
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = "Token " .. token
  wrk.headers["Accept"] = "application/json"
  wrk.headers["User-Agent"] = "Mattermost-Bot/1.1"
end

function request()
  counter = counter + 1
  local body = "channel_id=jux16pkewjrkfj3ehep1psxyxc&channel_name=town-square" ..
    "&command=%2Fops" ..
    "&response_url=https%3A%2F%2Fmm.example.com%2Fhooks%2Fcommands%2Fxbrkb8p393gjpq5cawei7npije" ..
    "&root_id=&team_domain=bench&team_id=" .. team_id ..
    "&text=help&token=" .. token ..
    "&trigger_id=" .. thread_tag .. "x" .. tostring(counter) ..
    "&user_id=" .. user_id .. "&user_name=benchuser"
  return wrk.format(nil, nil, nil, body)
end
