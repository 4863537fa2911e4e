<?php
// A page with no validators of its own: no ETag, no Last-Modified.
// ?type=html: as text/html (PHP's default type), else text/plain.
require __DIR__ . '/count.inc.php';
condcache_count();
if (($_GET['type'] ?? '') !== 'html') {
    header('Content-Type: text/plain');
}
echo "a php page without validators\n";
