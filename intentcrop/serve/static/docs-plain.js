fetch("/openapi.json").then(r => r.json()).then(spec => {
  const list = document.getElementById("endpoints");
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [verb, op] of Object.entries(ops)) {
      const li = document.createElement("li");
      li.textContent = `${verb.toUpperCase()} ${path} - ${op.summary || ""}`;
      list.appendChild(li);
    }
  }
});
