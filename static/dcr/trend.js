// A result's trend over time. The table under the chart holds the same values for anyone who cannot see it.
(function () {
  const data = JSON.parse(document.getElementById("trend-data").textContent);
  const canvas = document.getElementById("trend-chart");
  if (!window.Chart || !canvas) return;
  const band = (value) => (value === null ? [] : [{
    label: "", data: data.dates.map(() => value), borderColor: "#768692", borderDash: [6, 4],
    borderWidth: 1, pointRadius: 0, fill: false,
  }]);
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: data.dates,
      datasets: [
        {
          label: data.label, data: data.values, borderColor: "#005eb8", backgroundColor: "#005eb8",
          pointRadius: data.flags.map((f) => (f ? 6 : 4)),
          pointStyle: data.flags.map((f) => (f ? "triangle" : "circle")),
          pointBackgroundColor: data.flags.map((f) => (f ? "#d5281b" : "#005eb8")),
          pointBorderColor: data.flags.map((f) => (f ? "#d5281b" : "#005eb8")),
          tension: 0.1,
        },
        ...band(data.low), ...band(data.high),
      ],
    },
    options: {
      animation: false, maintainAspectRatio: false,
      plugins: { legend: { display: false }, tooltip: { filter: (item) => item.datasetIndex === 0 } },
      scales: { y: { title: { display: true, text: data.label } } },
    },
  });
})();
