<?php
// A page with a session: PHP's session.cache_limiter "nocache" (its
// default) sends Cache-Control: no-store, no-cache, must-revalidate,
// Pragma: no-cache and Expires: Thu, 19 Nov 1981 08:52:00 GMT.
require __DIR__ . '/count.inc.php';
condcache_count();
session_start();
$_SESSION['visits'] = ($_SESSION['visits'] ?? 0) + 1;
echo "your basket, visit {$_SESSION['visits']}\n";
