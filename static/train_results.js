// The Train panel's end-of-run figures: the confusion matrix (a table, each cell shaded by
// its share of the row) and the most confident mistakes (each test image with its label,
// the prediction and the confidence), as the desktop report shows them.

function cell(tag, text, className = "") {
  return Object.assign(document.createElement(tag), { textContent: text, className });
}

// confusion: 10x10 counts, rows = true label, columns = predicted.
export function showConfusion(table, confusion) {
  const head = document.createElement("tr");
  const corner = cell("td", "", "corner");
  corner.setAttribute("aria-label", "rows: the true digit; columns: what the network said");
  head.append(corner, ...confusion.map((_, digit) => {
    const th = cell("th", String(digit));
    th.scope = "col";
    return th;
  }));
  const rows = confusion.map((counts, label) => {
    const row = document.createElement("tr");
    const rowTotal = counts.reduce((a, b) => a + b, 0) || 1;
    const header = cell("th", String(label));
    header.scope = "row";
    row.append(header, ...counts.map((count, predicted) => {
      const td = cell("td", String(count), predicted === label ? "hit" : count ? "miss" : "");
      td.dataset.testid = "confusion-cell";
      td.style.setProperty("--share", (count / rowTotal).toFixed(3));
      td.title = `${count} test image${count === 1 ? "" : "s"} of a ${label} read as ${predicted}`;
      return td;
    }));
    return row;
  });
  const thead = document.createElement("thead");
  const tbody = document.createElement("tbody");
  thead.append(head);
  tbody.append(...rows);
  table.replaceChildren(thead, tbody);
}

function drawDigit(canvas, pixels) {
  const context = canvas.getContext("2d");
  const image = context.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    image.data.set([pixels[i], pixels[i], pixels[i], 255], i * 4);
  }
  context.putImageData(image, 0, 0);
}

// mistakes: [{index, label, predicted, confidence, pixels: Uint8Array(784)}].
export function showMistakes(list, mistakes) {
  list.replaceChildren(...mistakes.map((mistake) => {
    const item = document.createElement("li");
    item.dataset.testid = "mistake";
    const canvas = Object.assign(document.createElement("canvas"), { width: 28, height: 28 });
    canvas.setAttribute("role", "img");
    const percent = `${(mistake.confidence * 100).toFixed(0)}%`;
    canvas.setAttribute("aria-label", `test image ${mistake.index}: a ${mistake.label}, read as ${mistake.predicted} (${percent})`);
    drawDigit(canvas, mistake.pixels);
    item.append(canvas, cell("span", `${mistake.label} → ${mistake.predicted}`, "said"),
                cell("span", percent, "confidence"));
    return item;
  }));
  if (!mistakes.length) list.append(cell("li", "none: every test image was read right", "hint"));
}
