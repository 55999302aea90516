using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Weightless.Core.Errors;
using Weightless.Core.Storage;

namespace Weightless.Core.Tenancy;

/// <summary>
/// A stable number per user and team. The Python client (wandb ≥ 0.19, registry members) decodes
/// user and team GraphQL ids as <c>User:&lt;int&gt;</c> / <c>Entity:&lt;int&gt;</c> and re-encodes
/// the integer, so names cannot stand in there. The number is derived from the name (the first 48
/// bits of its SHA-256, so assigning races converge on the same value) and claimed in the
/// <c>entitynumbers</c> table (partition = the number: looked up before the entity is known, like
/// the credentials index; it holds no tenant data beyond the name); a collision with another name
/// probes the next number. The profile row remembers its number.
/// </summary>
internal sealed class EntityNumbers(StorageAccount storage, TenancyService tenancy)
{
    public const string Table = "entitynumbers";

    private const int MaxProbes = 64;

    /// <summary>The entity's number, claimed on first use; null when no such entity exists.</summary>
    public async Task<long?> NumberOfAsync(string entity, CancellationToken cancellationToken)
    {
        var profile = await tenancy.GetEntityAsync(entity, cancellationToken).ConfigureAwait(false);
        if (profile is null)
        {
            return null;
        }
        if (profile.Number is { } known)
        {
            return known;
        }
        var table = await storage.TableAsync(Table).ConfigureAwait(false);
        var candidate = Candidate(entity);
        for (var probe = 0; probe < MaxProbes; probe++, candidate++)
        {
            var key = candidate.ToString(CultureInfo.InvariantCulture);
            try
            {
                await table.AddAsync(new EntityNumberRow { PartitionKey = key, RowKey = EntityNumberRow.RowKeyValue, Entity = entity }, cancellationToken).ConfigureAwait(false);
            }
            catch (ConflictException)
            {
                var holder = await table.GetAsync<EntityNumberRow>(key, EntityNumberRow.RowKeyValue, cancellationToken).ConfigureAwait(false);
                if (holder?.Entity != entity)
                {
                    continue;
                }
            }
            await RememberAsync(entity, candidate, cancellationToken).ConfigureAwait(false);
            return candidate;
        }
        throw new ConflictException($"No free number for '{entity}' after {MaxProbes} probes.");
    }

    /// <summary>The entity a number was claimed for, or null.</summary>
    public async Task<string?> EntityOfAsync(long number, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table).ConfigureAwait(false);
        var row = await table.GetAsync<EntityNumberRow>(number.ToString(CultureInfo.InvariantCulture), EntityNumberRow.RowKeyValue, cancellationToken).ConfigureAwait(false);
        return row?.Entity;
    }

    /// <summary>Stores the number on the profile row (ETag-guarded; a concurrent edit of the profile just leaves it for the next call).</summary>
    private async Task RememberAsync(string entity, long number, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(TenancyService.EntitiesTable).ConfigureAwait(false);
        var profile = await tenancy.GetEntityAsync(entity, cancellationToken).ConfigureAwait(false);
        if (profile is null || profile.Number is not null)
        {
            return;
        }
        profile.Number = number;
        try
        {
            await table.UpdateAsync(profile, profile.ETag, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (ConflictException)
        {
        }
    }

    /// <summary>The first number tried for a name: 48 bits of its SHA-256, never 0.</summary>
    internal static long Candidate(string entity)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(entity), hash);
        return (long)(BinaryPrimitives.ReadUInt64BigEndian(hash) >> 16) + 1;
    }
}

/// <summary>Row of <c>entitynumbers</c>: partition = the number, one row naming its entity.</summary>
internal sealed class EntityNumberRow : TableRow
{
    public const string RowKeyValue = "entity";

    public string Entity { get; set; } = "";
}
