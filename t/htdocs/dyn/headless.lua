-- Writes its body for GET only, as a careful handler does for HEAD.
function handle(r)
    r.content_type = "text/plain"
    if not r.header_only then
        r:write("a body only GET gets\n")
    end
    return apache2.OK
end
