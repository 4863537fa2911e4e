<?php
// A page with validators of its own, which answers its own 304: its
// ETag and Last-Modified, and If-None-Match (else If-Modified-Since)
// compared with them as RFC 9110 13.2.2 says, when it sees them.
require __DIR__ . '/count.inc.php';
$etag = '"php-own-1"';
$lm = 'Sun, 06 Nov 1994 08:49:37 GMT';
header('Content-Type: text/plain');
header("ETag: $etag");
header("Last-Modified: $lm");
$inm = $_SERVER['HTTP_IF_NONE_MATCH'] ?? null;
$ims = $_SERVER['HTTP_IF_MODIFIED_SINCE'] ?? null;
$match = false;
if ($inm !== null) {
    foreach (explode(',', $inm) as $t) {
        $t = trim($t);
        if ($t === '*' || preg_replace('/^W\//', '', $t) === $etag) {
            $match = true;
        }
    }
}
elseif ($ims !== null && strtotime($ims) !== false
        && strtotime($lm) <= strtotime($ims)) {
    $match = true;
}
if ($match) {
    condcache_count('304');
    http_response_code(304);
    exit;
}
condcache_count('200');
echo "a php page with its own validators\n";
