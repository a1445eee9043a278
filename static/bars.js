// The verdict: the predicted digit, its confidence and one bar per digit whose fill is as
// long as that digit's probability.

export class ProbabilityBars {
  constructor(list, prediction, confidence) {
    this.prediction = prediction;
    this.confidence = confidence;
    this.bars = [];
    for (let digit = 0; digit < 10; digit++) {
      const item = document.createElement("li");
      item.dataset.testid = `prob-${digit}`;
      const name = Object.assign(document.createElement("span"), { className: "name", textContent: String(digit) });
      const track = Object.assign(document.createElement("span"), { className: "track" });
      const fill = Object.assign(document.createElement("span"), { className: "fill" });
      const value = Object.assign(document.createElement("span"), { className: "value" });
      track.append(fill);
      item.append(name, track, value);
      list.append(item);
      this.bars.push({ item, fill, value });
    }
    this.show(null);
  }

  // probabilities: ten numbers summing to 1, or null for "nothing drawn".
  show(probabilities) {
    const best = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
    this.bars.forEach((bar, digit) => {
      const p = probabilities ? probabilities[digit] : 0;
      const percent = `${(p * 100).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1)}%`;
      bar.fill.style.width = `${(p * 100).toFixed(2)}%`;
      bar.value.textContent = percent;
      bar.item.dataset.probability = p.toFixed(6);
      bar.item.setAttribute("aria-label", `${digit}: ${percent}`);
      bar.item.classList.toggle("best", digit === best);
    });
    this.prediction.textContent = best >= 0 ? String(best) : "–";
    this.confidence.textContent = best >= 0
      ? `${(probabilities[best] * 100).toFixed(1)}% sure` : "draw a digit";
  }
}
