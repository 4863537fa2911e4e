-- The dynamic page of the benchmark: about a millisecond of CPU, then a
-- deterministic body of about 4 KiB, and no validators of its own.
function handle(r)
    local x = 0
    for i = 1, 60000 do
        x = (x * 31 + i) % 1000003
    end
    r.content_type = "text/html"
    local line = string.format("<p>row %%d of a page computed in Lua (%d)</p>\n", x)
    for i = 1, 100 do
        r:write(string.format(line, i))
    end
    return apache2.OK
end
