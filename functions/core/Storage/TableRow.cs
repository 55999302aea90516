using Azure;
using Azure.Data.Tables;

namespace Weightless.Core.Storage;

/// <summary>The four properties every table row carries; stored rows derive from this instead of repeating them.</summary>
internal abstract class TableRow : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
}
