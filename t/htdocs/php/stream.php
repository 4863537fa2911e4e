<?php
// A page that streams: a first part, flushed, then the rest after
// ?ms= milliseconds (2000 by default).  ?type=sse: as server-sent events.
header('Content-Type: ' . (($_GET['type'] ?? '') === 'sse'
                           ? 'text/event-stream' : 'text/plain'));
echo "data: the first part\n\n";
if (ob_get_level()) {
    ob_flush();
}
flush();
usleep((int)($_GET['ms'] ?? 2000) * 1000);
echo "data: the rest\n\n";
