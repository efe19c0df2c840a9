modules_enabled:append { "carbon" } -- typo: carbons
