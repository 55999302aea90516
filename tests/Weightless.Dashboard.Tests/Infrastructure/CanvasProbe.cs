using Microsoft.Playwright;

namespace Weightless.Dashboard.Tests.Infrastructure;

/// <summary>Reads a panel's canvas pixels in the page (device scale 1, so CSS px = canvas px).</summary>
public static class CanvasProbe
{
    public sealed class Summary
    {
        public int Width { get; set; }

        public int Height { get; set; }

        public int NonBackground { get; set; }

        public int[] ColumnHits { get; set; } = [];
    }

    // Background = the canvas's top-left pixel (the plot fills its background first). A "hit" is a
    // row in [top, bottom] where some pixel within ±2 px of the column differs from the background.
    private const string Script = """
        ([selector, columns, top, bottom]) => {
          const canvas = document.querySelector(selector);
          if (!canvas) return null;
          const ctx = canvas.getContext('2d');
          const { width, height } = canvas;
          const data = ctx.getImageData(0, 0, width, height).data;
          const bg = [data[0], data[1], data[2]];
          const differs = (x, y) => {
            const i = (y * width + x) * 4;
            return Math.abs(data[i] - bg[0]) + Math.abs(data[i + 1] - bg[1]) + Math.abs(data[i + 2] - bg[2]) > 24;
          };
          let nonBackground = 0;
          for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (differs(x, y)) nonBackground++;
          const columnHits = columns.map((cx) => {
            let hits = 0;
            for (let y = top; y <= bottom; y++) {
              for (let x = Math.max(0, Math.round(cx) - 2); x <= Math.min(width - 1, Math.round(cx) + 2); x++) {
                if (differs(x, y)) { hits++; break; }
              }
            }
            return hits;
          });
          return { width, height, nonBackground, columnHits };
        }
        """;

    public static async Task<Summary> ReadAsync(IPage page, string canvasSelector, double[] columns, int top, int bottom)
    {
        var result = await page.EvaluateAsync<Summary?>(Script, new object[] { canvasSelector, columns, top, bottom });
        return result ?? throw new InvalidOperationException($"No canvas matches {canvasSelector}.");
    }

    /// <summary>Pixel x of a data x in a line plot (LinePlot's margins: 56 left, 12 right).</summary>
    public static double XToPixel(double x, double x0, double x1, int canvasWidth) => 56 + (x - x0) / (x1 - x0) * (canvasWidth - 68);
}
